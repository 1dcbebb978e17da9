namespace Overlay.Transport.Sessions.Streams.Internal;

/// <summary>
/// The receive side of acknowledgements (RFC 9000 §13.2): which packet numbers arrived (the most recent
/// <c>maxRanges</c> ranges), and when an ACK is owed. An ack-eliciting packet is acknowledged within max_ack_delay
/// (25 ms), at once after every second one (§13.2.2), and at once when it arrives out of order (§13.2.1), which speeds
/// the sender's loss detection. Not thread-safe.
/// </summary>
internal sealed class AckTracker
{
    /// <summary>Ack-eliciting packets after which an ACK is sent at once: 2 (RFC 9000 §13.2.2).</summary>
    public const int AckElicitingThreshold = 2;

    private readonly RangeSet _received = new();
    private readonly int _maxRanges;
    private readonly TimeSpan _maxAckDelay;
    private long _largest = -1;
    private TimeSpan _largestTime;
    private int _elicitingSinceAck;
    private bool _immediate;
    private TimeSpan _deadline;

    /// <summary>Creates a tracker that has received nothing.</summary>
    /// <param name="maxRanges">Most ranges kept (and so reported); older ranges are forgotten.</param>
    /// <param name="maxAckDelay">Longest an ACK for an ack-eliciting packet may wait.</param>
    public AckTracker(int maxRanges, TimeSpan maxAckDelay)
    {
        _maxRanges = maxRanges;
        _maxAckDelay = maxAckDelay;
    }

    /// <summary>Gets how many ranges are held.</summary>
    public int RangeCount => _received.Count;

    /// <summary>Gets whether an ack-eliciting packet arrived since the last ACK sent.</summary>
    public bool HasUnacknowledgedEliciting => _elicitingSinceAck > 0;

    /// <summary>Gets when the owed ACK must be sent; null when none is owed.</summary>
    public TimeSpan? Deadline => _elicitingSinceAck == 0 ? null : _immediate ? _largestTime : _deadline;

    /// <summary>Returns whether <paramref name="packetNumber"/> was already received (and is still remembered).</summary>
    /// <param name="packetNumber">A packet number.</param>
    /// <returns>True for a duplicate.</returns>
    public bool IsDuplicate(long packetNumber) => _received.Contains(packetNumber);

    /// <summary>Records a processed packet.</summary>
    /// <param name="packetNumber">Its number.</param>
    /// <param name="ackEliciting">Whether it held a frame other than ACK, PADDING and CONNECTION_CLOSE.</param>
    /// <param name="now">When it arrived.</param>
    public void OnPacketReceived(long packetNumber, bool ackEliciting, TimeSpan now)
    {
        var outOfOrder = _largest >= 0 && (packetNumber < _largest || packetNumber > _largest + 1);
        _received.TryAdd(packetNumber, packetNumber + 1);
        while (_received.Count > _maxRanges)
        {
            _received.RemoveFirst();
        }

        if (packetNumber > _largest)
        {
            _largest = packetNumber;
            _largestTime = now;
        }

        if (!ackEliciting)
        {
            return;
        }

        if (_elicitingSinceAck == 0)
        {
            _deadline = now + _maxAckDelay;
        }

        _elicitingSinceAck++;
        if (outOfOrder || _elicitingSinceAck >= AckElicitingThreshold)
        {
            _immediate = true;
        }
    }

    /// <summary>Returns whether an ACK must go now (alone if nothing else is sent).</summary>
    /// <param name="now">The current time.</param>
    /// <returns>True when an ACK is owed and due.</returns>
    public bool IsAckDue(TimeSpan now) => _elicitingSinceAck > 0 && (_immediate || now >= _deadline);

    /// <summary>Writes an ACK frame of the held ranges and marks the ACK as sent.</summary>
    /// <param name="destination">Space left in the packet.</param>
    /// <param name="now">The current time (the ack delay is measured from the largest packet's arrival).</param>
    /// <returns>Bytes written, 0 when nothing was received or it does not fit.</returns>
    public int WriteAck(Span<byte> destination, TimeSpan now)
    {
        if (_received.IsEmpty)
        {
            return 0;
        }

        var delayUnits = Math.Max(0, (now - _largestTime).Ticks) / 10 >> FrameReader.AckDelayExponent;
        var n = FrameWriter.WriteAck(destination, _received, delayUnits, _maxRanges);
        if (n > 0)
        {
            _elicitingSinceAck = 0;
            _immediate = false;
        }

        return n;
    }
}
