using System.Text;
using Overlay.Transport.Sessions.Streams.Internal;

namespace Overlay.Transport.Sessions.Streams;

/// <summary>The inbound half of <see cref="StreamMux"/>: one received payload, frame by frame.</summary>
public sealed partial class StreamMux
{
    private long _packetsReceived;
    private long _bytesReceived;
    private long _packetsRefused;
    private bool _packetRefused;
    private StreamMuxError _violation;
    private string _violationReason = "";

    /// <summary>
    /// Processes one received payload: its frames in order. On the datagram path a packet number seen before is ignored
    /// (the session layer already drops replays); on the reliable path the number is not used.
    /// </summary>
    /// <param name="payload">The decrypted payload (untrusted).</param>
    /// <param name="packetNumber">Its packet number from the session header, ≥ 0.</param>
    /// <param name="now">The current time (any fixed origin, monotonic).</param>
    /// <param name="error">The transport error when false is returned; <see cref="StreamMuxError.NoError"/> otherwise.</param>
    /// <returns>
    /// False when the payload was malformed or broke the protocol: the connection is now closed with
    /// <paramref name="error"/> and a CONNECTION_CLOSE waits in <see cref="PollTransmit"/>. True otherwise, including
    /// packets ignored because the connection is closed. Never throws on any payload.
    /// </returns>
    public bool TryReceive(ReadOnlySpan<byte> payload, long packetNumber, TimeSpan now, out StreamMuxError error)
    {
        error = StreamMuxError.NoError;
        StartClock(now);
        if (_closeInfo is not null || packetNumber < 0 || (!_reliable && _acks!.IsDuplicate(packetNumber)))
        {
            return true;
        }

        OnPacketArrived(now);
        _packetsReceived++;
        _bytesReceived += payload.Length;
        _packetRefused = false;
        var ok = payload.IsEmpty ? Violation(StreamMuxError.ProtocolViolation, "packet without frames") : ReadFrames(payload, now, out var ackEliciting) && Commit(packetNumber, ackEliciting, now);
        if (ok)
        {
            return true;
        }

        error = _violation;
        CloseWith(new MuxCloseInfo((long)_violation, false, _violationReason, ByPeer: false), sendFrame: true);
        return false;
    }

    private bool Commit(long packetNumber, bool ackEliciting, TimeSpan now)
    {
        if (_packetRefused)
        {
            _packetsRefused++;
        }
        else if (_acks is not null && _closeInfo is null)
        {
            _acks.OnPacketReceived(packetNumber, ackEliciting, now);
        }

        return true;
    }

    private bool ReadFrames(ReadOnlySpan<byte> payload, TimeSpan now, out bool ackEliciting)
    {
        ackEliciting = false;
        var reader = new FrameReader(payload);
        string? malformed;
        while (reader.TryRead(out var frame, out malformed))
        {
            ackEliciting |= frame.Type is not (FrameType.Padding or FrameType.Ack or FrameType.ConnectionClose or FrameType.ApplicationClose);
            if (!Handle(ref frame, now))
            {
                return false;
            }

            if (_closeInfo is not null)
            {
                return true;
            }
        }

        return malformed is null || Violation(StreamMuxError.FrameEncodingError, malformed);
    }

    private bool Handle(ref Frame frame, TimeSpan now)
    {
        switch (frame.Type)
        {
            case FrameType.Padding or FrameType.Ping:
                return true;
            case FrameType.Ack:
                return OnAck(ref frame, now);
            case FrameType.Stream:
                return OnStream(ref frame);
            case FrameType.ResetStream:
                return OnResetStream(ref frame);
            case FrameType.StopSending:
                return OnStopSending(ref frame);
            case FrameType.MaxData:
                if (frame.Value > _sendMaxData)
                {
                    _sendMaxData = frame.Value;
                    ReleaseConnectionBlocked();
                }

                return true;
            case FrameType.MaxStreamData:
                return OnMaxStreamData(ref frame);
            case FrameType.MaxStreams:
                if (frame.Value > _localStreamLimit)
                {
                    _localStreamLimit = frame.Value;
                    if (_openRefused && !_streamsAvailableQueued)
                    {
                        _openRefused = false;
                        _streamsAvailableQueued = true;
                        _events.Enqueue(new StreamMuxEvent(StreamMuxEventKind.StreamsAvailable, -1));
                    }
                }

                return true;
            case FrameType.DataBlocked:
                return true;
            case FrameType.StreamDataBlocked:
                return TryFindStream(frame.StreamId, out _);
            default:
                CloseWith(new MuxCloseInfo(frame.ErrorCode, frame.Type == FrameType.ApplicationClose, Encoding.UTF8.GetString(frame.Reason), ByPeer: true), sendFrame: false);
                return true;
        }
    }

    private bool Violation(StreamMuxError code, string reason)
    {
        _violation = code;
        _violationReason = reason;
        return false;
    }

    private bool OnAck(ref Frame frame, TimeSpan now)
    {
        if (_recovery is null)
        {
            return Violation(StreamMuxError.ProtocolViolation, "ACK frame on the reliable path");
        }

        if (_recovery.OnAckReceived(in frame, now, this) is { } error)
        {
            return Violation(StreamMuxError.ProtocolViolation, error);
        }

        WakeWriters();
        return true;
    }

    private bool OnStream(ref Frame frame)
    {
        if (!TryFindStream(frame.StreamId, out var s))
        {
            return false;
        }

        if (s is null)
        {
            return true;
        }

        var end = frame.Offset + frame.Data.Length;
        if (!AccountReceived(s, end, frame.Fin))
        {
            return false;
        }

        if (s.IsDiscarding || s.ReadDone)
        {
            TryRetire(s);
            return true;
        }

        if (!s.Receive.TryInsert(frame.Offset, frame.Data, _options.MaxReassemblyRanges))
        {
            // Not stored: leave the packet unacknowledged so the sender resends the data (frames are idempotent). On
            // the reliable path nothing is resent, and an honest peer never leaves a hole there.
            if (_reliable)
            {
                return Violation(StreamMuxError.ProtocolViolation, "out-of-order data on the reliable path");
            }

            _packetRefused = true;
            return true;
        }

        if (s.IsReadable)
        {
            QueueReadable(s);
        }

        return true;
    }

    /// <summary>Checks and counts a frame's end offset against the final size and both windows (RFC 9000 §4.1, §4.5).</summary>
    private bool AccountReceived(MuxStreamState s, long end, bool fin)
    {
        if (s.FinalSize >= 0 && (end > s.FinalSize || (fin && end != s.FinalSize)))
        {
            return Violation(StreamMuxError.FinalSizeError, "data or final size beyond the stream's final size");
        }

        if (fin && end < s.ReceiveHighest)
        {
            return Violation(StreamMuxError.FinalSizeError, "final size below data already received");
        }

        if (end > s.ReceiveHighest)
        {
            var more = end - s.ReceiveHighest;
            if (end > s.ReceiveLimit || _receiveHighestTotal + more > _receiveMaxData)
            {
                return Violation(StreamMuxError.FlowControlError, end > s.ReceiveLimit ? "stream data beyond MAX_STREAM_DATA" : "connection data beyond MAX_DATA");
            }

            s.ReceiveHighest = end;
            _receiveHighestTotal += more;
            if (s.IsDiscarding)
            {
                CreditDiscarded(s);
            }
        }

        if (fin)
        {
            s.FinalSize = end;
        }

        return true;
    }

    private bool OnResetStream(ref Frame frame)
    {
        if (!TryFindStream(frame.StreamId, out var s))
        {
            return false;
        }

        if (s is null)
        {
            return true;
        }

        if (!AccountReceived(s, frame.Value, fin: true))
        {
            return false;
        }

        if (!s.PeerReset && !(s.ReadDone && !s.StopSent))
        {
            s.PeerReset = true;
            s.PeerResetCode = frame.ErrorCode;
            s.StopSendingPending = false;
            s.Receive.Discard();
            CreditDiscarded(s);
            QueueReadable(s);
        }

        TryRetire(s);
        return true;
    }

    private bool OnStopSending(ref Frame frame)
    {
        if (!TryFindStream(frame.StreamId, out var s))
        {
            return false;
        }

        if (s is null || s.StopReceived)
        {
            return true;
        }

        s.StopReceived = true;
        s.StopReceivedCode = frame.ErrorCode;
        ResetSendHalf(s, frame.ErrorCode);
        _events.Enqueue(new StreamMuxEvent(StreamMuxEventKind.StreamStopped, s.Id, frame.ErrorCode));
        WakeWriters();
        return true;
    }

    private bool OnMaxStreamData(ref Frame frame)
    {
        if (!TryFindStream(frame.StreamId, out var s))
        {
            return false;
        }

        if (s is not null && frame.Value > s.SendLimit)
        {
            s.SendLimit = frame.Value;
            ReleaseStreamBlocked(s);
        }

        return true;
    }

    /// <summary>
    /// Finds the stream a frame names (RFC 9000 §3.2, §19.8): one of ours must have been opened (else
    /// STREAM_STATE_ERROR); a peer's beyond the highest seen opens it and every lower one (within MAX_STREAMS, else
    /// STREAM_LIMIT_ERROR). <paramref name="s"/> is null for a stream already retired: the frame is ignored.
    /// </summary>
    private bool TryFindStream(long id, out MuxStreamState? s)
    {
        s = null;
        var index = id >> 1;
        var local = (id & 1) == (IsClient ? 0 : 1);
        if (local)
        {
            if (index >= _nextLocalIndex)
            {
                return Violation(StreamMuxError.StreamStateError, "frame for a stream this side never opened");
            }

            s = _streams.GetValueOrDefault(id);
            return true;
        }

        if (index >= _nextPeerIndex)
        {
            if (index >= _peerStreamLimit)
            {
                return Violation(StreamMuxError.StreamLimitError, "stream beyond MAX_STREAMS");
            }

            for (var i = _nextPeerIndex; i <= index; i++)
            {
                var opened = CreateStream((i << 1) | (id & 1), isLocal: false);
                _events.Enqueue(new StreamMuxEvent(StreamMuxEventKind.StreamOpened, opened.Id));
            }

            _nextPeerIndex = index + 1;
        }

        s = _streams.GetValueOrDefault(id);
        return true;
    }
}
