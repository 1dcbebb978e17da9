using Overlay.Transport.Sessions.Streams.Internal;

namespace Overlay.Transport.Sessions.Streams;

/// <summary>The frame packing of <see cref="StreamMux"/>: which control frames and stream data go into a packet, and the send queues.</summary>
public sealed partial class StreamMux
{
    /// <summary>Writes the pending connection-level and per-stream control frames that fit; returns whether any was written.</summary>
    private bool WriteControlFrames(Span<byte> packet, ref int n)
    {
        var wrote = false;
        if (_maxDataPending && FrameWriter.WriteSimple(packet[n..], FrameType.MaxData, _receiveMaxData) is var w1 and > 0)
        {
            n += w1;
            _maxDataPending = false;
            Record(new SentFrame(SentFrameKind.MaxData, 0, _receiveMaxData, 0, false));
            wrote = true;
        }

        if (_maxStreamsPending && FrameWriter.WriteSimple(packet[n..], FrameType.MaxStreams, _peerStreamLimit) is var w2 and > 0)
        {
            n += w2;
            _maxStreamsPending = false;
            Record(new SentFrame(SentFrameKind.MaxStreams, 0, _peerStreamLimit, 0, false));
            wrote = true;
        }

        if (_dataBlockedPending && FrameWriter.WriteSimple(packet[n..], FrameType.DataBlocked, _dataBlockedAt) is var w3 and > 0)
        {
            n += w3;
            _dataBlockedPending = false;
            wrote = true;
        }

        for (var count = _controlQueue.Count; count > 0; count--)
        {
            var s = _controlQueue.Peek();
            if (!s.Retired && !WriteStreamControl(s, packet, ref n, ref wrote))
            {
                break;
            }

            _controlQueue.Dequeue();
            s.InControlQueue = false;
        }

        return wrote;
    }

    /// <summary>Writes one stream's pending control frames; false when one did not fit (the rest stay pending).</summary>
    private bool WriteStreamControl(MuxStreamState s, Span<byte> packet, ref int n, ref bool wrote)
    {
        if (s.ResetFramePending)
        {
            if (FrameWriter.WriteSimple(packet[n..], FrameType.ResetStream, s.Id, s.ResetCode, s.ResetFinalSize) is not (var w and > 0))
            {
                return false;
            }

            n += w;
            s.ResetFramePending = false;
            Record(new SentFrame(SentFrameKind.ResetStream, s.Id, 0, 0, false));
            wrote = true;
        }

        if (s.StopSendingPending && s.FinalSize < 0)
        {
            if (FrameWriter.WriteSimple(packet[n..], FrameType.StopSending, s.Id, s.StopSentCode) is not (var w and > 0))
            {
                return false;
            }

            n += w;
            Record(new SentFrame(SentFrameKind.StopSending, s.Id, 0, 0, false));
            wrote = true;
        }

        s.StopSendingPending = false;
        if (s.MaxStreamDataPending && s.FinalSize < 0 && !s.IsDiscarding)
        {
            if (FrameWriter.WriteSimple(packet[n..], FrameType.MaxStreamData, s.Id, s.ReceiveLimit) is not (var w and > 0))
            {
                return false;
            }

            n += w;
            Record(new SentFrame(SentFrameKind.MaxStreamData, s.Id, s.ReceiveLimit, 0, false));
            wrote = true;
        }

        s.MaxStreamDataPending = false;
        if (s.BlockedFramePending && !s.ResetSent)
        {
            if (FrameWriter.WriteSimple(packet[n..], FrameType.StreamDataBlocked, s.Id, s.BlockedAt) is not (var w and > 0))
            {
                return false;
            }

            n += w;
            wrote = true;
        }

        s.BlockedFramePending = false;
        return true;
    }

    /// <summary>Writes one STREAM frame per queued stream, round-robin, until the packet is full; returns whether it is (no frame may follow).</summary>
    private bool WriteStreamFrames(Span<byte> packet, ref int n, ref bool eliciting, ref bool retransmitted)
    {
        for (var count = _sendQueue.Count; count > 0 && n < packet.Length; count--)
        {
            var s = _sendQueue.Dequeue();
            s.InSendQueue = false;
            if (s.Retired || s.ResetSent)
            {
                continue;
            }

            var wrote = WriteStreamFrame(s, packet, ref n, out var full, out var again);
            eliciting |= wrote;
            retransmitted |= again;
            EnqueueSend(s);
            if (full)
            {
                return true;
            }

            if (!wrote)
            {
                break;
            }
        }

        return false;
    }

    /// <summary>Writes one STREAM frame for <paramref name="s"/>: lost data first (no new credit needed), else new data within both windows.</summary>
    private bool WriteStreamFrame(MuxStreamState s, Span<byte> packet, ref int n, out bool full, out bool retransmission)
    {
        full = false;
        retransmission = s.Send.TryPeekLost(packet.Length - n, out var offset, out var available, out var fin);
        var credit = 0L;
        if (!retransmission)
        {
            offset = s.Send.NextNew;
            credit = Math.Min(s.SendLimit - offset, _sendMaxData - _sentDataTotal);
            available = (int)Math.Min(s.Send.NewBytesAvailable(offset + Math.Max(0, credit)), int.MaxValue);
            if (available == 0 && !s.Send.PendingFinOnly())
            {
                return false;
            }
        }

        // Omit LEN when the data fills the packet (RFC 9000 §19.8): then no frame may follow.
        var room = packet.Length - n;
        var headerWithoutLength = FrameWriter.StreamHeaderSize(s.Id, offset, 0, explicitLength: false);
        if (room - headerWithoutLength < (available > 0 ? 1 : 0) || room < headerWithoutLength)
        {
            return false;
        }

        int length;
        bool explicitLength;
        if (available >= room - headerWithoutLength)
        {
            length = room - headerWithoutLength;
            explicitLength = false;
        }
        else
        {
            length = available;
            explicitLength = FrameWriter.StreamHeaderSize(s.Id, offset, length, explicitLength: true) + length <= room;
        }

        fin = retransmission ? fin && length == available : s.Send.NewChunkEndsStream(length);
        var header = FrameWriter.WriteStreamHeader(packet[n..], s.Id, offset, length, fin, explicitLength);
        s.Send.CopyTo(offset, packet.Slice(n + header, length));
        n += header + length;
        full = !explicitLength;
        s.Send.OnSent(offset, length, fin);
        if (retransmission)
        {
            _streamBytesRetransmitted += length;
        }
        else
        {
            _sentDataTotal += length;
        }

        Record(new SentFrame(SentFrameKind.Stream, s.Id, offset, length, fin));
        return true;
    }

    /// <summary>
    /// Puts <paramref name="s"/> in the send queue if it can send now: lost data, a lone FIN, or new data within both
    /// windows. New data blocked by the stream window queues STREAM_DATA_BLOCKED once per limit; blocked by the connection
    /// window, the stream waits for MAX_DATA and DATA_BLOCKED is queued once per limit (RFC 9000 §4.1).
    /// </summary>
    private void EnqueueSend(MuxStreamState s)
    {
        if (s.InSendQueue || s.Retired || s.ResetSent || s.InConnectionBlocked)
        {
            return;
        }

        var send = s.Send;
        if (!send.HasLost && !send.PendingFinOnly())
        {
            if (send.Written <= send.NextNew)
            {
                return;
            }

            if (s.SendLimit <= send.NextNew)
            {
                if (!s.InStreamBlocked)
                {
                    s.InStreamBlocked = true;
                    _streamBlocked.Add(s);
                }

                if (s.BlockedAt != s.SendLimit)
                {
                    s.BlockedAt = s.SendLimit;
                    s.BlockedFramePending = true;
                    EnqueueControl(s);
                }

                return;
            }

            if (_sendMaxData <= _sentDataTotal)
            {
                s.InConnectionBlocked = true;
                _connectionBlocked.Add(s);
                if (_dataBlockedAt != _sendMaxData)
                {
                    _dataBlockedAt = _sendMaxData;
                    _dataBlockedPending = true;
                }

                return;
            }
        }

        s.InSendQueue = true;
        _sendQueue.Enqueue(s);
    }

    private void EnqueueControl(MuxStreamState s)
    {
        if (!s.InControlQueue && !s.Retired)
        {
            s.InControlQueue = true;
            _controlQueue.Enqueue(s);
        }
    }

    /// <summary>MAX_STREAM_DATA rose on <paramref name="s"/>: it no longer waits for stream credit.</summary>
    private void ReleaseStreamBlocked(MuxStreamState s)
    {
        if (s.InStreamBlocked)
        {
            s.InStreamBlocked = false;
            _streamBlocked.Remove(s);
        }

        EnqueueSend(s);
    }

    /// <summary>
    /// Queues DATA_BLOCKED and STREAM_DATA_BLOCKED again for everything still blocked: RFC 9000 §4.1 asks a sender that
    /// is flow-control limited with nothing in flight to repeat them, so that neither side's idle timer closes a
    /// connection whose reader is merely slow.
    /// </summary>
    private void RepeatBlockedFrames()
    {
        _dataBlockedPending |= _connectionBlocked.Count > 0;
        foreach (var s in _streamBlocked)
        {
            s.BlockedFramePending = true;
            EnqueueControl(s);
        }
    }

    /// <summary>MAX_DATA rose: every stream that waited for connection credit may send again.</summary>
    private void ReleaseConnectionBlocked()
    {
        foreach (var s in _connectionBlocked)
        {
            s.InConnectionBlocked = false;
            EnqueueSend(s);
        }

        _connectionBlocked.Clear();
    }
}
