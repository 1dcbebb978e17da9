using System.Buffers;
using System.Net;
using Overlay.Kademlia;

namespace Overlay.Testing.Simulation;

/// <summary>
/// An in-memory datagram network in virtual time: nodes attach with an address in 127.0.0.0/8 (never routed
/// anywhere: no datagram leaves the process), datagrams arrive after the sum of both ends' access delays
/// (<see cref="LatencyModel"/>) or are lost with probability <see cref="LossRate"/>. Deterministic from its seed.
/// Runs on the simulation thread only.
/// </summary>
public sealed class InMemoryNetwork
{
    private const int Port = 4001;
    private readonly Simulator _simulator;
    private readonly LatencyModel _latency;
    private readonly Random _random;
    private readonly Dictionary<IPEndPoint, InMemoryTransport> _attached = [];
    private int _nextAddress = 1;

    /// <summary>Creates a network.</summary>
    /// <param name="simulator">The clock and event queue deliveries are scheduled on.</param>
    /// <param name="latency">Link latency model.</param>
    /// <param name="lossRate">Probability, 0..1, that a datagram is lost.</param>
    /// <param name="seed">Seed of access delays and losses.</param>
    public InMemoryNetwork(Simulator simulator, LatencyModel latency, double lossRate, int seed)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(lossRate, 0);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(lossRate, 1);
        _simulator = simulator;
        _latency = latency;
        LossRate = lossRate;
        _random = new Random(seed);
    }

    /// <summary>Gets or sets the loss probability, 0..1 (may change during a run).</summary>
    public double LossRate { get; set; }

    /// <summary>Gets the datagrams sent.</summary>
    public long Sent { get; private set; }

    /// <summary>Gets the datagrams lost to <see cref="LossRate"/>.</summary>
    public long Lost { get; private set; }

    /// <summary>Gets the datagrams addressed to no attached node (departed or never existed).</summary>
    public long Unreachable { get; private set; }

    /// <summary>
    /// Gets or sets a tap called for every datagram sent or injected, before loss: its source (as the receiver will
    /// see it), destination and length in bytes. Tests count bytes per address with it (the 3x rule).
    /// </summary>
    public Action<IPEndPoint, IPEndPoint, int>? Tap { get; set; }

    /// <summary>Attaches a new node: a fresh address 127.a.b.c:4001 and an access delay.</summary>
    /// <returns>Its transport.</returns>
    public InMemoryTransport Attach()
    {
        var n = _nextAddress++;
        var address = new IPAddress([127, (byte)(n >> 16), (byte)(n >> 8), (byte)n]);
        var transport = new InMemoryTransport(this, new IPEndPoint(address, Port), _latency.DrawAccessDelay(_random));
        _attached.Add(transport.LocalEndPoint, transport);
        return transport;
    }

    /// <summary>
    /// Sends a datagram that claims any source address, as an off-path attacker forging its source would (on a real
    /// network: a spoofed IP header). Delivered after <paramref name="to"/>'s access delay, subject to loss.
    /// </summary>
    /// <param name="source">The forged source; answers go there (to nobody, when no node is attached at it).</param>
    /// <param name="to">The destination.</param>
    /// <param name="datagram">The datagram.</param>
    public void Inject(IPEndPoint source, IPEndPoint to, ReadOnlySpan<byte> datagram) => Send(source, TimeSpan.Zero, to, datagram);

    internal void Detach(InMemoryTransport transport) => _attached.Remove(transport.LocalEndPoint);

    internal void Send(InMemoryTransport from, IPEndPoint to, ReadOnlySpan<byte> datagram) => Send(from.LocalEndPoint, from.AccessDelay, to, datagram);

    private void Send(IPEndPoint source, TimeSpan sourceDelay, IPEndPoint to, ReadOnlySpan<byte> datagram)
    {
        Sent++;
        Tap?.Invoke(source, to, datagram.Length);
        if (datagram.Length > KademliaOptions.MaxDatagramBytes)
        {
            Lost++;
            return;
        }

        if (LossRate > 0 && _random.NextDouble() < LossRate)
        {
            Lost++;
            return;
        }

        if (!_attached.TryGetValue(to, out var destination))
        {
            Unreachable++;
            return;
        }

        // One pooled buffer and one event object per datagram: a simulation moves millions of them, and their garbage
        // was a fifth of its allocations. Delivery is synchronous (the handler parses the span), so the buffer returns
        // to the pool right after it.
        var buffer = ArrayPool<byte>.Shared.Rent(datagram.Length);
        datagram.CopyTo(buffer);
        var inFlight = new InFlight(this, source, to, destination, buffer, datagram.Length);
        _simulator.Schedule(sourceDelay + destination.AccessDelay, static state => ((InFlight)state).Arrive(), inFlight);
    }

    private sealed class InFlight(InMemoryNetwork network, IPEndPoint source, IPEndPoint to, InMemoryTransport destination, byte[] buffer, int length)
    {
        public void Arrive()
        {
            if (network._attached.TryGetValue(to, out var stillThere) && ReferenceEquals(stillThere, destination))
            {
                destination.Deliver(source, buffer.AsSpan(0, length));
            }
            else
            {
                network.Unreachable++;
            }

            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
