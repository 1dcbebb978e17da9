using Overlay.Transport.Sessions.Streams.Internal;

namespace Overlay.Transport.Sessions.Streams;

/// <summary>The stream bookkeeping of <see cref="StreamMux"/>: creation, window updates, resets, retirement, and the writers waiting for room.</summary>
public sealed partial class StreamMux
{
    private MuxStreamState CreateStream(long id, bool isLocal)
    {
        var s = new MuxStreamState(id, isLocal, _options, _account);
        _streams.Add(id, s);
        if (_options.StreamReceiveWindowBytes > s.ReceiveLimit)
        {
            s.ReceiveLimit = _options.StreamReceiveWindowBytes;
            s.MaxStreamDataPending = true;
            EnqueueControl(s);
        }

        return s;
    }

    /// <summary>Bytes a write to <paramref name="s"/> may add now: the smaller of the stream's and the connection's send room.</summary>
    private long WriteRoom(MuxStreamState s) =>
        Math.Min(_options.StreamSendBufferBytes - s.Send.Buffered, _options.ConnectionSendBufferBytes - _sendBufferedTotal);

    private void ResetSendHalf(MuxStreamState s, long errorCode)
    {
        if (s.ResetSent || s.Send.AllAcknowledged)
        {
            return;
        }

        s.ResetSent = true;
        s.ResetCode = errorCode;
        s.ResetFinalSize = s.Send.NextNew;
        s.ResetFramePending = true;
        _sendBufferedTotal -= s.Send.Buffered;
        s.Send.Discard();
        EnqueueControl(s);
        WakeWriters();
    }

    /// <summary>Credits every byte received on a discarding stream back to the connection window (RFC 9000 §4.5).</summary>
    private void CreditDiscarded(MuxStreamState s)
    {
        var add = s.ReceiveHighest - s.ReceiveCredited;
        if (add > 0)
        {
            s.ReceiveCredited = s.ReceiveHighest;
            _receiveCreditedTotal += add;
            UpdateConnectionWindow();
        }
    }

    /// <summary>Raises the stream's MAX_STREAM_DATA to read position + window once half a window was read (RFC 9000 §4.2).</summary>
    private void UpdateStreamWindow(MuxStreamState s)
    {
        var target = s.Receive.ReadOffset + _options.StreamReceiveWindowBytes;
        if (s.FinalSize < 0 && target - s.ReceiveLimit >= _options.StreamReceiveWindowBytes / 2)
        {
            s.ReceiveLimit = target;
            s.MaxStreamDataPending = true;
            EnqueueControl(s);
        }
    }

    /// <summary>Raises MAX_DATA to credited + window once half a window was credited.</summary>
    private void UpdateConnectionWindow()
    {
        var target = _receiveCreditedTotal + _options.ConnectionReceiveWindowBytes;
        if (target - _receiveMaxData >= _options.ConnectionReceiveWindowBytes / 2)
        {
            _receiveMaxData = target;
            _maxDataPending = true;
        }
    }

    /// <summary>Forgets a stream whose halves both finished; a peer's stream frees a slot for MAX_STREAMS.</summary>
    private void TryRetire(MuxStreamState s)
    {
        var sendDone = s.ResetSent ? s.ResetAcknowledged : s.Send.AllAcknowledged;
        var receiveDone = s.ReadDone && s.FinalSize >= 0;
        if (s.Retired || !sendDone || !receiveDone)
        {
            return;
        }

        s.Retired = true;
        _streams.Remove(s.Id);
        s.Send.Discard();
        s.Receive.Discard();
        if (s.WantsWritable)
        {
            _writeWaiters.Remove(s);
        }

        if (s.InStreamBlocked)
        {
            _streamBlocked.Remove(s);
        }

        if (s.InConnectionBlocked)
        {
            _connectionBlocked.Remove(s);
        }

        if (!s.IsLocal)
        {
            _peerStreamsRetired++;
            var target = _peerStreamsRetired + _options.MaxConcurrentStreams;
            if (target - _peerStreamLimit >= Math.Max(1, _options.MaxConcurrentStreams / 8))
            {
                _peerStreamLimit = target;
                _maxStreamsPending = true;
            }
        }
    }

    private void QueueReadable(MuxStreamState s)
    {
        if (!s.ReadableQueued && !s.ReadDone)
        {
            s.ReadableQueued = true;
            _events.Enqueue(new StreamMuxEvent(StreamMuxEventKind.StreamReadable, s.Id));
        }
    }

    /// <summary>Tells writers refused earlier that their stream has room again (or was stopped).</summary>
    private void WakeWriters()
    {
        for (var i = _writeWaiters.Count - 1; i >= 0; i--)
        {
            var s = _writeWaiters[i];
            if (s.StopReceived || s.ResetSent || WriteRoom(s) > 0)
            {
                s.WantsWritable = false;
                _writeWaiters.RemoveAt(i);
                if (!s.WritableQueued)
                {
                    s.WritableQueued = true;
                    _events.Enqueue(new StreamMuxEvent(StreamMuxEventKind.StreamWritable, s.Id));
                }
            }
        }
    }
}
