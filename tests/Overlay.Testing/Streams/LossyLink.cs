namespace Overlay.Testing.Streams;

/// <summary>
/// One direction of a simulated path in virtual time, sans-IO: packets go in with <see cref="Send"/> at a time and
/// come out of <see cref="TryReceive"/> at their arrival time, after a bottleneck (rate and drop-tail queue),
/// propagation delay, seeded random loss, reordering and duplication; duplicates are removed at the far end by a
/// <see cref="ReplayFilter"/>, as the session layer would. Not thread-safe.
/// </summary>
public sealed class LossyLink
{
    private readonly LossyLinkOptions _options;
    private readonly Random _random;
    private readonly PriorityQueue<InFlight, (TimeSpan Due, long Sequence)> _queue = new();
    private readonly ReplayFilter _replay = new();
    private TimeSpan _bottleneckFreeAt;
    private long _sequence;

    /// <summary>Creates an empty path.</summary>
    /// <param name="options">Its behaviour.</param>
    public LossyLink(LossyLinkOptions options)
    {
        _options = options;
        _random = new Random(options.Seed);
    }

    /// <summary>Gets the options.</summary>
    public LossyLinkOptions Options => _options;

    /// <summary>Gets packets offered.</summary>
    public long Sent { get; private set; }

    /// <summary>Gets packets lost at random.</summary>
    public long Lost { get; private set; }

    /// <summary>Gets packets dropped by the full bottleneck queue.</summary>
    public long QueueDrops { get; private set; }

    /// <summary>Gets packets held back to be reordered.</summary>
    public long Reordered { get; private set; }

    /// <summary>Gets packets delivered twice (the second copy is dropped by the replay filter).</summary>
    public long Duplicated { get; private set; }

    /// <summary>Gets copies dropped by the replay filter.</summary>
    public long ReplaysDropped => _replay.Dropped;

    /// <summary>Gets packets delivered.</summary>
    public long Delivered { get; private set; }

    /// <summary>Gets packets in flight.</summary>
    public int InFlightCount => _queue.Count;

    /// <summary>Gets when the next packet arrives; null when none is in flight.</summary>
    public TimeSpan? NextArrival => _queue.TryPeek(out _, out var key) ? key.Due : null;

    /// <summary>Offers a packet at <paramref name="now"/>; the payload is copied.</summary>
    /// <param name="payload">The payload.</param>
    /// <param name="packetNumber">Its packet number.</param>
    /// <param name="now">The virtual time it is sent.</param>
    public void Send(ReadOnlySpan<byte> payload, long packetNumber, TimeSpan now)
    {
        Sent++;
        if (_options.LossRate > 0 && _random.NextDouble() < _options.LossRate)
        {
            Lost++;
            return;
        }

        var leaves = now;
        if (_options.BandwidthBytesPerSecond > 0)
        {
            var start = _bottleneckFreeAt > now ? _bottleneckFreeAt : now;
            var queued = (start - now).Ticks * _options.BandwidthBytesPerSecond / TimeSpan.TicksPerSecond;
            var wire = payload.Length + _options.OverheadBytes;
            if (queued + wire > _options.QueueBytes)
            {
                QueueDrops++;
                return;
            }

            _bottleneckFreeAt = start + TimeSpan.FromTicks(wire * TimeSpan.TicksPerSecond / _options.BandwidthBytesPerSecond);
            leaves = _bottleneckFreeAt;
        }

        var arrives = leaves + _options.Delay;
        if (_options.ReorderRate > 0 && _random.NextDouble() < _options.ReorderRate)
        {
            Reordered++;
            arrives += TimeSpan.FromTicks(1 + (long)(_random.NextDouble() * _options.ReorderDelay.Ticks));
        }

        var copy = payload.ToArray();
        _queue.Enqueue(new InFlight(copy, packetNumber), (arrives, _sequence++));
        if (_options.DuplicateRate > 0 && _random.NextDouble() < _options.DuplicateRate)
        {
            Duplicated++;
            _queue.Enqueue(new InFlight(copy, packetNumber), (arrives + TimeSpan.FromTicks(1 + (long)(_random.NextDouble() * _options.ReorderDelay.Ticks)), _sequence++));
        }
    }

    /// <summary>Takes the next packet that has arrived by <paramref name="now"/>, skipping replays.</summary>
    /// <param name="now">The virtual time.</param>
    /// <param name="payload">The payload (owned by the caller).</param>
    /// <param name="packetNumber">Its packet number.</param>
    /// <returns>False when nothing has arrived by <paramref name="now"/>.</returns>
    public bool TryReceive(TimeSpan now, out byte[] payload, out long packetNumber)
    {
        while (_queue.TryPeek(out var next, out var key) && key.Due <= now)
        {
            _queue.Dequeue();
            if (_replay.Accept(next.PacketNumber))
            {
                Delivered++;
                payload = next.Payload;
                packetNumber = next.PacketNumber;
                return true;
            }
        }

        payload = [];
        packetNumber = -1;
        return false;
    }

    private readonly record struct InFlight(byte[] Payload, long PacketNumber);
}
