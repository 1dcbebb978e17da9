using Overlay.Transport.Sessions.Streams;

namespace Overlay.Testing.Streams;

/// <summary>
/// One end of an in-memory <see cref="IPacketLink"/> pair over two <see cref="LossyLink"/>s, timed by a
/// <see cref="TimeProvider"/>: a sent payload arrives at the other end when the path model says, through a timer of
/// that provider, so under a <see cref="Simulation.Simulator"/> everything runs in virtual time on its thread. Received
/// payloads wait in a queue of at most <see cref="MaxQueuedPackets"/> (past it they are dropped, as a full socket
/// buffer would). Thread-safe (one lock per end).
/// </summary>
public sealed class InMemoryPacketLink : IPacketLink
{
    /// <summary>Most payloads waiting to be received before new arrivals are dropped: 4,096.</summary>
    public const int MaxQueuedPackets = 4096;

    private readonly object _gate = new();
    private readonly Queue<(byte[] Payload, long PacketNumber)> _arrived = new();
    private readonly LossyLink _outgoing;
    private readonly TimeProvider _time;
    private readonly long _start;
    private readonly ITimer _deliveryTimer;
    private InMemoryPacketLink? _peer;
    private TaskCompletionSource<bool>? _waiter;
    private bool _closed;

    private InMemoryPacketLink(LossyLink outgoing, TimeProvider time, long start, int maxPayloadBytes, bool asynchronous)
    {
        _outgoing = outgoing;
        _time = time;
        _start = start;
        MaxPayloadBytes = maxPayloadBytes;
        RequiresAsynchronousContinuations = asynchronous;
        _deliveryTimer = time.CreateTimer(static state => ((InMemoryPacketLink)state!).DeliverDue(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    /// <inheritdoc/>
    public int MaxPayloadBytes { get; }

    /// <inheritdoc/>
    public bool RequiresAsynchronousContinuations { get; }

    /// <summary>Gets the path this end sends on (its counters).</summary>
    public LossyLink Outgoing => _outgoing;

    /// <summary>Gets payloads dropped because the receive queue was full.</summary>
    public long QueueOverflows { get; private set; }

    /// <summary>Creates two connected ends.</summary>
    /// <param name="time">The clock (a <see cref="Simulation.Simulator"/> for virtual time).</param>
    /// <param name="aToB">Path from the first end to the second.</param>
    /// <param name="bToA">Path back.</param>
    /// <param name="maxPayloadBytes">Largest payload either way, bytes.</param>
    /// <param name="asynchronous">The ends' <see cref="RequiresAsynchronousContinuations"/> (false under a simulator).</param>
    /// <returns>The two ends.</returns>
    public static (InMemoryPacketLink A, InMemoryPacketLink B) CreatePair(TimeProvider time, LossyLinkOptions aToB, LossyLinkOptions bToA, int maxPayloadBytes = StreamMuxOptions.DefaultDatagramPayloadBytes, bool asynchronous = false)
    {
        var start = time.GetTimestamp();
        var a = new InMemoryPacketLink(new LossyLink(aToB), time, start, maxPayloadBytes, asynchronous);
        var b = new InMemoryPacketLink(new LossyLink(bToA), time, start, maxPayloadBytes, asynchronous);
        a._peer = b;
        b._peer = a;
        return (a, b);
    }

    /// <inheritdoc/>
    public ValueTask SendAsync(ReadOnlyMemory<byte> payload, long packetNumber, CancellationToken cancellationToken = default)
    {
        var peer = _peer!;
        lock (peer._gate)
        {
            if (_closed || peer._closed)
            {
                throw new IOException("the in-memory link is closed");
            }

            _outgoing.Send(payload.Span, packetNumber, Now);
            peer.ArmLocked();
        }

        return ValueTask.CompletedTask;
    }

    /// <inheritdoc/>
    public async ValueTask<LinkPacket> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        while (true)
        {
            TaskCompletionSource<bool> waiter;
            lock (_gate)
            {
                if (_arrived.TryDequeue(out var item))
                {
                    item.Payload.CopyTo(buffer);
                    return new LinkPacket(item.Payload.Length, item.PacketNumber);
                }

                if (_closed)
                {
                    return LinkPacket.End;
                }

                _waiter ??= new TaskCompletionSource<bool>(RequiresAsynchronousContinuations ? TaskCreationOptions.RunContinuationsAsynchronously : TaskCreationOptions.None);
                waiter = _waiter;
            }

            await waiter.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Closes both ends: pending and later receives return <see cref="LinkPacket.End"/>, sends throw <see cref="IOException"/>.</summary>
    public void Close()
    {
        CloseOne();
        _peer!.CloseOne();
    }

    /// <inheritdoc/>
    public ValueTask DisposeAsync()
    {
        Close();
        _deliveryTimer.Dispose();
        return ValueTask.CompletedTask;
    }

    private TimeSpan Now => _time.GetElapsedTime(_start);

    private void CloseOne()
    {
        TaskCompletionSource<bool>? waiter;
        lock (_gate)
        {
            _closed = true;
            waiter = _waiter;
            _waiter = null;
        }

        waiter?.TrySetResult(true);
    }

    /// <summary>Arms the delivery timer for the next arrival on the path into this end (called under this end's lock).</summary>
    private void ArmLocked()
    {
        if (_peer!._outgoing.NextArrival is { } due)
        {
            var delay = due - Now;
            _deliveryTimer.Change(delay > TimeSpan.Zero ? delay : TimeSpan.Zero, Timeout.InfiniteTimeSpan);
        }
    }

    private void DeliverDue()
    {
        TaskCompletionSource<bool>? waiter = null;
        lock (_gate)
        {
            var incoming = _peer!._outgoing;
            while (incoming.TryReceive(Now, out var payload, out var packetNumber))
            {
                if (_arrived.Count >= MaxQueuedPackets)
                {
                    QueueOverflows++;
                    continue;
                }

                _arrived.Enqueue((payload, packetNumber));
            }

            if (_arrived.Count > 0)
            {
                waiter = _waiter;
                _waiter = null;
            }

            ArmLocked();
        }

        waiter?.TrySetResult(true);
    }
}
