using System.Net;
using Overlay.Testing.Simulation;
using Overlay.Testing.Streams;

namespace Overlay.Testing.Sessions;

/// <summary>
/// A datagram network in virtual time for session tests: transports attach at 10.0.0.n:4000, and each datagram, after
/// <see cref="LossyLinkOptions.Delay"/>, is lost, held back (reordered), or delivered twice as <see cref="Options"/> says,
/// every choice drawn from one <see cref="Random"/> seeded with <see cref="LossyLinkOptions.Seed"/>. Unlike
/// <see cref="LossyLink"/> it removes no duplicates (the session's replay window must) and has no bottleneck; like a NAT,
/// <see cref="Rebind"/> moves a transport to a new public endpoint mid-run. Deliveries are events of a
/// <see cref="Simulator"/>, never inline in a send, so the code under test runs on the simulation thread and never
/// re-enters itself. Not thread-safe (the simulation's one thread).
/// </summary>
public sealed class LossyDatagramNetwork
{
    private const int Port = 4000;
    private readonly Simulator _simulator;
    private readonly Dictionary<IPEndPoint, LossyDatagramTransport> _byPublic = [];
    private Random _random;
    private LossyLinkOptions _options;
    private int _nextAddress = 1;

    /// <summary>Creates a network.</summary>
    /// <param name="simulator">The clock and event queue.</param>
    /// <param name="options">Delay, loss, reordering and duplication of every datagram, both ways; the bandwidth fields are ignored.</param>
    public LossyDatagramNetwork(Simulator simulator, LossyLinkOptions options)
    {
        ArgumentNullException.ThrowIfNull(simulator);
        ArgumentNullException.ThrowIfNull(options);
        _simulator = simulator;
        _options = options;
        _random = new Random(options.Seed);
    }

    /// <summary>Gets or sets the behaviour; may change mid-run (e.g. <see cref="LossyLinkOptions.LossRate"/> = 1 silences
    /// everything); the random sequence is kept, not reseeded.</summary>
    public LossyLinkOptions Options
    {
        get => _options;
        set => _options = value ?? throw new ArgumentNullException(nameof(value));
    }

    /// <summary>Gets the datagrams sent.</summary>
    public long Sent { get; private set; }

    /// <summary>Gets the datagrams lost at random.</summary>
    public long Lost { get; private set; }

    /// <summary>Gets the datagrams held back so that later ones overtook them.</summary>
    public long Reordered { get; private set; }

    /// <summary>Gets the datagrams delivered twice.</summary>
    public long Duplicated { get; private set; }

    /// <summary>Gets the datagrams that arrived at an endpoint nobody holds any more (such as one given up by <see cref="Rebind"/>).</summary>
    public long Unreachable { get; private set; }

    /// <summary>Attaches a transport at a fresh address.</summary>
    /// <returns>The transport; its local and public endpoints are equal until <see cref="Rebind"/>.</returns>
    public LossyDatagramTransport Attach()
    {
        var n = _nextAddress++;
        var endPoint = new IPEndPoint(new IPAddress([10, 0, (byte)(n >> 8), (byte)n]), Port);
        var transport = new LossyDatagramTransport(this, endPoint);
        _byPublic.Add(endPoint, transport);
        return transport;
    }

    /// <summary>Moves <paramref name="transport"/> to a new public endpoint, as a NAT does when its binding is replaced:
    /// from now on its datagrams come from <paramref name="publicEndPoint"/> and only datagrams sent there reach it
    /// (those in flight to the old endpoint are lost).</summary>
    /// <param name="transport">A transport of this network.</param>
    /// <param name="publicEndPoint">An endpoint no transport holds.</param>
    public void Rebind(LossyDatagramTransport transport, IPEndPoint publicEndPoint)
    {
        ArgumentNullException.ThrowIfNull(transport);
        ArgumentNullException.ThrowIfNull(publicEndPoint);
        _byPublic.Remove(transport.PublicEndPoint);
        _byPublic.Add(publicEndPoint, transport);
        transport.PublicEndPoint = publicEndPoint;
    }

    /// <summary>Sends a copy of <paramref name="datagram"/> from <paramref name="from"/> to <paramref name="to"/>.</summary>
    internal void Send(LossyDatagramTransport from, IPEndPoint to, ReadOnlySpan<byte> datagram)
    {
        Sent++;
        if (_options.LossRate > 0 && _random.NextDouble() < _options.LossRate)
        {
            Lost++;
            return;
        }

        var delay = _options.Delay;
        if (_options.ReorderRate > 0 && _random.NextDouble() < _options.ReorderRate)
        {
            Reordered++;
            delay += TimeSpan.FromTicks(1 + (long)(_random.NextDouble() * _options.ReorderDelay.Ticks));
        }

        var delivery = new Delivery(this, from.PublicEndPoint, to, datagram.ToArray());
        _simulator.Schedule(delay, static state => ((Delivery)state).Arrive(), delivery);
        if (_options.DuplicateRate > 0 && _random.NextDouble() < _options.DuplicateRate)
        {
            Duplicated++;
            _simulator.Schedule(delay + TimeSpan.FromTicks(1 + (long)(_random.NextDouble() * _options.ReorderDelay.Ticks)), static state => ((Delivery)state).Arrive(), delivery);
        }
    }

    /// <summary>Forgets a disposed transport.</summary>
    internal void Detach(LossyDatagramTransport transport) => _byPublic.Remove(transport.PublicEndPoint);

    /// <summary>One datagram on its way.</summary>
    private sealed class Delivery(LossyDatagramNetwork network, IPEndPoint source, IPEndPoint destination, byte[] data)
    {
        public void Arrive()
        {
            if (network._byPublic.TryGetValue(destination, out var transport))
            {
                transport.Deliver(source, data);
            }
            else
            {
                network.Unreachable++;
            }
        }
    }
}
