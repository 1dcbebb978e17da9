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
            drop = DropsNextLocked();
        }

        if (!drop)
        {
            inner.Send(remote, datagram);
        }
    }

    /// <summary>Drops each datagram as <see cref="Send"/> does and passes the survivors on together, so the socket still
    /// segments them (the loss is the same per datagram; only the system calls are fewer).</summary>
    public void SendMany(IPEndPoint remote, ReadOnlySpan<byte> datagrams, ReadOnlySpan<int> lengths)
    {
        var kept = new byte[datagrams.Length];
        var keptLengths = new int[lengths.Length];
        int bytes = 0, count = 0, offset = 0;
        lock (_random)
        {
            foreach (var length in lengths)
            {
                if (!DropsNextLocked())
                {
                    datagrams.Slice(offset, length).CopyTo(kept.AsSpan(bytes));
                    bytes += length;
                    keptLengths[count++] = length;
                }

                offset += length;
            }
        }

        inner.SendMany(remote, kept.AsSpan(0, bytes), keptLengths.AsSpan(0, count));
    }

    public ValueTask DisposeAsync() => inner.DisposeAsync();

    /// <summary>Draws whether the next datagram is dropped, and counts it (under the lock on <see cref="_random"/>).</summary>
    private bool DropsNextLocked()
    {
        if (_random.NextDouble() >= lossRate)
        {
            return false;
        }

        Interlocked.Increment(ref _dropped);
        return true;
    }
}
