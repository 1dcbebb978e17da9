namespace Overlay.Transport.Sessions.Streams.Internal;

/// <summary>
/// Loss detection and recovery of RFC 9002 for the one packet-number space of a session: acknowledgements (§6), RTT
/// samples (§5), packet-threshold and time-threshold loss (§6.1), the probe timeout with exponential backoff (§6.2) and
/// persistent congestion (§7.6), feeding <see cref="NewRenoController"/>. The fate of each frame goes to an
/// <see cref="ISentFrameSink"/>, which retransmits information, never packets. Not thread-safe.
/// </summary>
internal sealed class LossRecovery
{
    /// <summary>kPacketThreshold (§6.1.1): a packet is lost when one sent 3 packet numbers later is acknowledged.</summary>
    public const int PacketThreshold = 3;

    /// <summary>kPersistentCongestionThreshold (§7.6.1): persistent congestion spans 3 probe timeouts.</summary>
    public const int PersistentCongestionThreshold = 3;

    /// <summary>Probes sent when the probe timeout fires (§6.2.4 allows up to two).</summary>
    public const int ProbesPerTimeout = 2;

    /// <summary>Highest backoff exponent of the probe timeout: 2^16 times the PTO, far past any idle timeout.</summary>
    private const int MaxBackoffExponent = 16;

    private readonly TimeSpan _maxAckDelay;
    private readonly List<(int Bytes, TimeSpan TimeSent)> _newlyAcked = [];
    private long _largestAcked = -1;
    private TimeSpan? _lossTime;
    private TimeSpan _lastAckElicitingSent;
    private int _outstanding;

    /// <summary>Creates the recovery state of a new connection.</summary>
    /// <param name="initialRtt">kInitialRtt (§6.2.2).</param>
    /// <param name="maxAckDelay">The peer's max_ack_delay (25 ms, RFC 9000 §18.2).</param>
    /// <param name="maxDatagramBytes">max_datagram_size for congestion control, bytes.</param>
    public LossRecovery(TimeSpan initialRtt, TimeSpan maxAckDelay, int maxDatagramBytes)
    {
        _maxAckDelay = maxAckDelay;
        Rtt = new RttEstimator(initialRtt);
        Congestion = new NewRenoController(maxDatagramBytes);
    }

    /// <summary>Gets the packets sent and not resolved.</summary>
    public SentPacketLog Log { get; } = new();

    /// <summary>Gets the RTT estimator.</summary>
    public RttEstimator Rtt { get; }

    /// <summary>Gets the congestion controller.</summary>
    public NewRenoController Congestion { get; }

    /// <summary>Gets or sets how many probe packets are owed (set by a PTO; each ack-eliciting packet sent pays one).</summary>
    public int ProbesPending { get; set; }

    /// <summary>Gets pto_count: consecutive probe timeouts without an acknowledgement.</summary>
    public int PtoCount { get; private set; }

    /// <summary>Gets how many probe timeouts fired in all.</summary>
    public long ProbeTimeouts { get; private set; }

    /// <summary>Gets how many packets were declared lost.</summary>
    public long PacketsLost { get; private set; }

    /// <summary>Gets how many ack-eliciting packets are in flight.</summary>
    public int Outstanding => _outstanding;

    /// <summary>Gets when the loss or probe timer fires (§6.2.2.1, SetLossDetectionTimer); null when not armed.</summary>
    public TimeSpan? TimerDeadline
    {
        get
        {
            if (_lossTime is { } lossTime)
            {
                return lossTime;
            }

            if (_outstanding == 0)
            {
                return null;
            }

            var pto = Rtt.ProbeTimeout(_maxAckDelay).Ticks << Math.Min(PtoCount, MaxBackoffExponent);
            return _lastAckElicitingSent + TimeSpan.FromTicks(pto);
        }
    }

    /// <summary>Gets persistent congestion's duration (§7.6.1): (smoothed_rtt + max(4 · rttvar, kGranularity) + max_ack_delay) · 3.</summary>
    public TimeSpan PersistentCongestionDuration => Rtt.ProbeTimeout(_maxAckDelay) * PersistentCongestionThreshold;

    /// <summary>Logs a sent packet (OnPacketSent, Appendix A.5).</summary>
    /// <param name="now">When it was sent.</param>
    /// <param name="bytes">Datagram bytes.</param>
    /// <param name="ackEliciting">Whether it is ack-eliciting (then it is in flight).</param>
    /// <param name="firstFrame">The log's frame cursor before its frames were added.</param>
    /// <returns>Its packet number.</returns>
    public long OnPacketSent(TimeSpan now, int bytes, bool ackEliciting, long firstFrame)
    {
        var number = Log.Add(now, bytes, firstFrame, ackEliciting ? SentPacketState.Outstanding : SentPacketState.Untracked);
        if (ackEliciting)
        {
            _outstanding++;
            _lastAckElicitingSent = now;
            Congestion.OnPacketSent(bytes);
            if (ProbesPending > 0)
            {
                ProbesPending--;
            }
        }
        else
        {
            Log.TrimResolved();
        }

        return number;
    }

    /// <summary>Processes an ACK frame (OnAckReceived, Appendix A.7).</summary>
    /// <param name="ack">A validated ACK frame.</param>
    /// <param name="now">The current time.</param>
    /// <param name="sink">Told the fate of each frame.</param>
    /// <returns>Null, or a protocol violation (an acknowledged packet number was never sent).</returns>
    public string? OnAckReceived(in Frame ack, TimeSpan now, ISentFrameSink sink)
    {
        if (ack.LargestAcknowledged >= Log.NextPacketNumber)
        {
            return "ACK of a packet number not sent";
        }

        _newlyAcked.Clear();
        var largestTimeSent = TimeSpan.MinValue;
        foreach (var (smallest, largest) in ack.EnumerateAckRanges())
        {
            var low = Math.Max(smallest, Log.BasePacketNumber);
            for (var number = largest; number >= low; number--)
            {
                ref var packet = ref Log[number];
                if (packet.State != SentPacketState.Outstanding)
                {
                    continue;
                }

                packet.State = SentPacketState.Acknowledged;
                _outstanding--;
                _newlyAcked.Add((packet.Bytes, packet.TimeSent));
                if (number == ack.LargestAcknowledged)
                {
                    largestTimeSent = packet.TimeSent;
                }

                for (var i = 0; i < packet.FrameCount; i++)
                {
                    sink.OnFrameAcked(in Log.Frame(packet.FirstFrame + i));
                }
            }
        }

        _largestAcked = Math.Max(_largestAcked, ack.LargestAcknowledged);
        if (_newlyAcked.Count == 0)
        {
            return null;
        }

        // Every tracked packet is ack-eliciting, so a newly acknowledged largest gives a sample (§5.1).
        if (largestTimeSent != TimeSpan.MinValue)
        {
            var delayTicks = ack.AckDelay > _maxAckDelay.Ticks ? _maxAckDelay.Ticks : ack.AckDelay * (TimeSpan.TicksPerMillisecond / 1000) << FrameReader.AckDelayExponent;
            Rtt.AddSample(now - largestTimeSent, TimeSpan.FromTicks(delayTicks), _maxAckDelay, now);
        }

        DetectLostPackets(now, sink);
        foreach (var (bytes, timeSent) in _newlyAcked)
        {
            Congestion.OnPacketAcked(bytes, timeSent);
        }

        PtoCount = 0;
        Log.TrimResolved();
        return null;
    }

    /// <summary>Handles the loss or probe timer (OnLossDetectionTimeout, Appendix A.9).</summary>
    /// <param name="now">The current time, at or after <see cref="TimerDeadline"/>.</param>
    /// <param name="sink">Told of frames in packets now lost.</param>
    public void OnTimeout(TimeSpan now, ISentFrameSink sink)
    {
        if (_lossTime is { } lossTime)
        {
            if (lossTime <= now)
            {
                DetectLostPackets(now, sink);
                Log.TrimResolved();
            }

            return;
        }

        if (TimerDeadline is { } deadline && deadline <= now)
        {
            PtoCount++;
            ProbeTimeouts++;
            ProbesPending = ProbesPerTimeout;
        }
    }

    /// <summary>
    /// Queues the frames of the oldest packet in flight again, for a probe that has nothing new to carry (§6.2.4); the
    /// packet stays in flight.
    /// </summary>
    /// <param name="sink">Told of the frames, as if lost.</param>
    /// <returns>False when no packet in flight carries a frame.</returns>
    public bool RequeueOldestForProbe(ISentFrameSink sink)
    {
        for (var number = Log.BasePacketNumber; number < Log.NextPacketNumber; number++)
        {
            ref var packet = ref Log[number];
            if (packet.State == SentPacketState.Outstanding && packet.FrameCount > 0)
            {
                for (var i = 0; i < packet.FrameCount; i++)
                {
                    sink.OnFrameLost(in Log.Frame(packet.FirstFrame + i));
                }

                return true;
            }
        }

        return false;
    }

    /// <summary>DetectAndRemoveLostPackets (§6.1, Appendix A.10) and the persistent-congestion check (§7.6.2).</summary>
    private void DetectLostPackets(TimeSpan now, ISentFrameSink sink)
    {
        _lossTime = null;
        var lossDelay = Rtt.LossDelay;
        var lostSendTime = now - lossDelay;
        var largestLostTimeSent = TimeSpan.MinValue;
        var pcDuration = PersistentCongestionDuration;
        var persistent = false;
        TimeSpan? runStart = null;
        var runHasNewLoss = false;
        var end = Math.Min(_largestAcked, Log.NextPacketNumber - 1);
        for (var number = Log.BasePacketNumber; number <= end; number++)
        {
            ref var packet = ref Log[number];
            switch (packet.State)
            {
                case SentPacketState.Acknowledged:
                    runStart = null;
                    runHasNewLoss = false;
                    continue;
                case SentPacketState.Untracked:
                    continue;
                case SentPacketState.Lost:
                    break;
                default:
                    if (packet.TimeSent > lostSendTime && _largestAcked < number + PacketThreshold)
                    {
                        var when = packet.TimeSent + lossDelay;
                        _lossTime = _lossTime is { } t && t < when ? t : when;
                        runStart = null;
                        runHasNewLoss = false;
                        continue;
                    }

                    packet.State = SentPacketState.Lost;
                    _outstanding--;
                    PacketsLost++;
                    Congestion.OnPacketLost(packet.Bytes);
                    largestLostTimeSent = packet.TimeSent > largestLostTimeSent ? packet.TimeSent : largestLostTimeSent;
                    runHasNewLoss = true;
                    for (var i = 0; i < packet.FrameCount; i++)
                    {
                        sink.OnFrameLost(in Log.Frame(packet.FirstFrame + i));
                    }

                    break;
            }

            // A run of lost packets, none acknowledged between, all sent after the first RTT sample (§7.6.2).
            if (Rtt.HasSample && packet.TimeSent > Rtt.FirstSampleTime)
            {
                runStart ??= packet.TimeSent;
                if (runHasNewLoss && packet.TimeSent - runStart.Value > pcDuration)
                {
                    persistent = true;
                }
            }
        }

        if (largestLostTimeSent != TimeSpan.MinValue)
        {
            Congestion.OnCongestionEvent(largestLostTimeSent, now);
            if (persistent)
            {
                Congestion.OnPersistentCongestion();
            }
        }
    }
}
