using System.Text;
using Overlay.Transport.Sessions.Streams.Internal;

namespace Overlay.Transport.Sessions.Streams;

/// <summary>The outbound half of <see cref="StreamMux"/>: packet assembly, timers, and the fate of sent frames.</summary>
public sealed partial class StreamMux
{
    private readonly AckTracker? _acks;
    private readonly LossRecovery? _recovery;
    private readonly Pacer? _pacer;
    private readonly List<SentFrame> _reliableFrames = [];
    private long _nextReliablePacketNumber;
    private bool _clockStarted;
    private TimeSpan _idleStart;
    private bool _sentElicitingSinceReceive;
    private TimeSpan _lastElicitingSent;
    private bool _pingPending;
    private TimeSpan? _pacingWakeup;
    private long _packetsSent;
    private long _bytesSent;
    private long _packetsRetransmitted;
    private long _streamBytesRetransmitted;

    /// <summary>
    /// Gets when <see cref="OnTimeout"/> should next be called: the earliest of the ACK deadline, the loss or probe timer,
    /// the pacing release time, the keep-alive and the idle timeout; null when no timer is armed (always on the reliable
    /// path, and once closed). It may be in the past: then call <see cref="OnTimeout"/> at once.
    /// </summary>
    public TimeSpan? NextTimeout
    {
        get
        {
            if (_closeInfo is not null || _recovery is null)
            {
                return null;
            }

            var next = Earliest(_acks!.Deadline, _recovery.TimerDeadline);
            next = Earliest(next, _pacingWakeup);
            if (_options.IdleTimeout > TimeSpan.Zero)
            {
                next = Earliest(next, _idleStart + IdleTimeout);
            }

            if (_options.KeepAliveInterval > TimeSpan.Zero && !_pingPending)
            {
                next = Earliest(next, _lastElicitingSent + _options.KeepAliveInterval);
            }

            return Earliest(next, BlockedRepeatDeadline);
        }
    }

    /// <summary>
    /// When to repeat the BLOCKED frames (<see cref="RepeatBlockedFrames"/>): a third of the idle timeout after the last
    /// ack-eliciting packet, while flow control blocks data and nothing is in flight; null otherwise.
    /// </summary>
    private TimeSpan? BlockedRepeatDeadline =>
        _options.IdleTimeout > TimeSpan.Zero && _recovery!.Outstanding == 0 && (_streamBlocked.Count > 0 || _connectionBlocked.Count > 0)
            ? _lastElicitingSent + (IdleTimeout / 3)
            : null;

    /// <summary>The idle timeout in force: the option, but at least three probe timeouts (RFC 9000 §10.1).</summary>
    private TimeSpan IdleTimeout
    {
        get
        {
            var floor = _recovery!.Rtt.ProbeTimeout(StreamMuxOptions.MaxAckDelay) * 3;
            return _options.IdleTimeout > floor ? _options.IdleTimeout : floor;
        }
    }

    /// <summary>Runs the timers due at <paramref name="now"/>: idle timeout (closes silently), loss detection, probe timeout, pacing, keep-alive. Then call <see cref="PollTransmit"/> until it returns 0.</summary>
    /// <param name="now">The current time.</param>
    public void OnTimeout(TimeSpan now)
    {
        StartClock(now);
        if (_closeInfo is not null || _recovery is null)
        {
            return;
        }

        if (_options.IdleTimeout > TimeSpan.Zero && now >= _idleStart + IdleTimeout)
        {
            CloseWith(new MuxCloseInfo((long)StreamMuxError.NoError, false, "idle timeout", ByPeer: false), sendFrame: false);
            return;
        }

        if (_recovery.TimerDeadline is { } deadline && deadline <= now)
        {
            _recovery.OnTimeout(now, this);
        }

        if (_pacingWakeup is { } wake && wake <= now)
        {
            _pacingWakeup = null;
        }

        if (_options.KeepAliveInterval > TimeSpan.Zero && now >= _lastElicitingSent + _options.KeepAliveInterval)
        {
            _pingPending = true;
        }

        if (BlockedRepeatDeadline is { } repeat && repeat <= now)
        {
            RepeatBlockedFrames();
        }
    }

    /// <summary>
    /// Builds the next payload to send, if anything may be sent now: ACKs, control frames, stream data (lost data first,
    /// streams round-robin), probes. Call repeatedly until it returns 0.
    /// </summary>
    /// <param name="destination">Where the payload goes; its first min(length, <see cref="MaxPayloadBytes"/>) bytes are used.</param>
    /// <param name="now">The current time.</param>
    /// <param name="packetNumber">The number the session layer must send it under (consecutive from 0); −1 when 0 is returned.</param>
    /// <returns>Payload bytes written; 0 when nothing may be sent now (nothing queued, congestion window full, pacing, or closed).</returns>
    public int PollTransmit(Span<byte> destination, TimeSpan now, out long packetNumber)
    {
        packetNumber = -1;
        StartClock(now);
        var packet = destination[..Math.Min(destination.Length, _options.MaxPayloadBytes)];
        if (_closeInfo is not null)
        {
            return _closeFramePending ? WriteClosePacket(packet, now, out packetNumber) : 0;
        }

        if (_recovery is null)
        {
            return Build(packet, now, allowData: true, probe: false, out packetNumber);
        }

        if (_recovery.Log.IsFull)
        {
            return 0;
        }

        var probe = _recovery.ProbesPending > 0;
        var allowData = probe;
        if (!probe && HasFramesToSend)
        {
            var datagram = _options.MaxPayloadBytes + _options.PacketOverheadBytes;
            var congestion = _recovery.Congestion;
            if (!congestion.CanSend(datagram))
            {
                congestion.ApplicationLimited = false;
            }
            else if (_options.Pacing && _pacer!.NextSendTime(now, datagram, congestion.Window, _recovery.Rtt.Smoothed, _recovery.Rtt.HasSample) is { } release)
            {
                _pacingWakeup = release;
            }
            else
            {
                allowData = true;
            }
        }
        else if (!probe)
        {
            _recovery.Congestion.ApplicationLimited = true;
        }

        return allowData || _acks!.IsAckDue(now) ? Build(packet, now, allowData, probe, out packetNumber) : 0;
    }

    private bool HasFramesToSend =>
        _maxDataPending || _maxStreamsPending || _dataBlockedPending || _pingPending || _controlQueue.Count > 0 || _sendQueue.Count > 0;

    /// <inheritdoc/>
    void ISentFrameSink.OnFrameAcked(in SentFrame frame)
    {
        if (!_streams.TryGetValue(frame.StreamId, out var s))
        {
            return;
        }

        if (frame.Kind == SentFrameKind.Stream && !s.ResetSent)
        {
            var before = s.Send.Buffered;
            s.Send.OnAcked(frame.Offset, frame.Length, frame.Fin);
            _sendBufferedTotal -= before - s.Send.Buffered;
            if (_reliable && before != s.Send.Buffered)
            {
                WakeWriters();
            }

            TryRetire(s);
        }
        else if (frame.Kind == SentFrameKind.ResetStream)
        {
            s.ResetAcknowledged = true;
            TryRetire(s);
        }
    }

    /// <inheritdoc/>
    void ISentFrameSink.OnFrameLost(in SentFrame frame)
    {
        switch (frame.Kind)
        {
            case SentFrameKind.MaxData:
                _maxDataPending |= frame.Offset == _receiveMaxData;
                return;
            case SentFrameKind.MaxStreams:
                _maxStreamsPending |= frame.Offset == _peerStreamLimit;
                return;
        }

        if (!_streams.TryGetValue(frame.StreamId, out var s))
        {
            return;
        }

        switch (frame.Kind)
        {
            case SentFrameKind.Stream when !s.ResetSent:
                s.Send.OnLost(frame.Offset, frame.Length, frame.Fin);
                EnqueueSend(s);
                break;
            case SentFrameKind.MaxStreamData when s.FinalSize < 0 && frame.Offset == s.ReceiveLimit:
                s.MaxStreamDataPending = true;
                EnqueueControl(s);
                break;
            case SentFrameKind.ResetStream when !s.ResetAcknowledged:
                s.ResetFramePending = true;
                EnqueueControl(s);
                break;
            case SentFrameKind.StopSending when s.FinalSize < 0:
                s.StopSendingPending = true;
                EnqueueControl(s);
                break;
        }
    }

    private static TimeSpan? Earliest(TimeSpan? a, TimeSpan? b) => a is null ? b : b is null ? a : a < b ? a : b;

    /// <summary>Starts the idle and keep-alive clocks at the first time the owner passes in.</summary>
    private void StartClock(TimeSpan now)
    {
        if (!_clockStarted)
        {
            _clockStarted = true;
            _idleStart = now;
            _lastElicitingSent = now;
        }
    }

    /// <summary>A packet arrived: restart the idle timer (RFC 9000 §10.1).</summary>
    private void OnPacketArrived(TimeSpan now)
    {
        _idleStart = now;
        _sentElicitingSinceReceive = false;
    }

    private int WriteClosePacket(Span<byte> packet, TimeSpan now, out long packetNumber)
    {
        var info = _closeInfo!.Value;
        var reason = Encoding.UTF8.GetBytes(info.Reason);
        var n = FrameWriter.WriteClose(packet, info.IsApplicationError, info.ErrorCode, reason);
        _closeFramePending = false;
        packetNumber = _recovery is null ? _nextReliablePacketNumber++ : _recovery.OnPacketSent(now, n + _options.PacketOverheadBytes, ackEliciting: false, _recovery.Log.FrameCursor);
        _packetsSent++;
        _bytesSent += n;
        return n;
    }

    private int Build(Span<byte> packet, TimeSpan now, bool allowData, bool probe, out long packetNumber)
    {
        packetNumber = -1;
        var cursor = _recovery?.Log.FrameCursor ?? 0;
        _reliableFrames.Clear();
        var n = 0;
        var eliciting = false;
        var retransmitted = false;
        if (_acks is not null && (_acks.IsAckDue(now) || (allowData && _acks.HasUnacknowledgedEliciting)))
        {
            n += _acks.WriteAck(packet, now);
        }

        if (allowData)
        {
            eliciting |= WriteControlFrames(packet, ref n);
            var full = WriteStreamFrames(packet, ref n, ref eliciting, ref retransmitted);
            if (probe && !eliciting && !full && _recovery!.RequeueOldestForProbe(this))
            {
                eliciting |= WriteControlFrames(packet, ref n);
                full = WriteStreamFrames(packet, ref n, ref eliciting, ref retransmitted);
            }

            if ((probe || _pingPending) && !eliciting && !full && FrameWriter.WritePing(packet[n..]) is var ping and > 0)
            {
                n += ping;
                eliciting = true;
            }

            if (eliciting)
            {
                _pingPending = false;
            }
        }

        if (n == 0)
        {
            _recovery?.Log.RollBackFrames(cursor);
            return 0;
        }

        var datagram = n + _options.PacketOverheadBytes;
        if (_recovery is null)
        {
            packetNumber = _nextReliablePacketNumber++;
            foreach (var frame in _reliableFrames)
            {
                ((ISentFrameSink)this).OnFrameAcked(frame);
            }
        }
        else
        {
            packetNumber = _recovery.OnPacketSent(now, datagram, eliciting, cursor);
            if (eliciting)
            {
                _pacer!.OnPacketSent(datagram);
                _lastElicitingSent = now;
                if (!_sentElicitingSinceReceive)
                {
                    _sentElicitingSinceReceive = true;
                    _idleStart = now;
                }
            }
        }

        _packetsSent++;
        _bytesSent += n;
        _packetsRetransmitted += retransmitted ? 1 : 0;
        return n;
    }

    private void Record(in SentFrame frame)
    {
        if (_recovery is null)
        {
            _reliableFrames.Add(frame);
        }
        else
        {
            _recovery.Log.AddFrame(frame);
        }
    }
}
