using System.Net;
using Overlay.Transport;

namespace Overlay.Bench.Stream;

/// <summary>
/// An <see cref="IMessageTransport"/> that drops a seeded random fraction of the datagrams it is asked to send and passes
/// the rest to the transport it wraps (which it owns): loss injected at the sender, the same pattern every run.
/// Thread-safe (senders share one <see cref="Random"/> under a lock).
/// </summary>
/// <param name="inner">The real transport.</param>
/// <param name="lossRate">Fraction of datagrams dropped, 0..1.</param>
/// <param name="seed">Seed of the drop pattern.</param>
internal sealed class DroppingTransport(IMessageTransport inner, double lossRate, int seed) : IMessageTransport
{
    private readonly Random _random = new(seed);
    private long _dropped;

    /// <summary>Gets the datagrams dropped so far.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    public IPEndPoint LocalEndPoint => inner.LocalEndPoint;

    public bool RequiresAsynchronousContinuations => inner.RequiresAsynchronousContinuations;

    public void Start(DatagramHandler handler) => inner.Start(handler);

    public void Send(IPEndPoint remote, ReadOnlySpan<byte> datagram)
    {
        bool drop;
        lock (_random)
        {
            drop = _random.NextDouble() < lossRate;
        }

        if (drop)
        {
            Interlocked.Increment(ref _dropped);
            return;
        }

        inner.Send(remote, datagram);
    }

    public ValueTask DisposeAsync() => inner.DisposeAsync();
}
