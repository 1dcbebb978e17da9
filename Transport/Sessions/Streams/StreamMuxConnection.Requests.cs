using Overlay.Transport.Sessions.Streams.Internal;

namespace Overlay.Transport.Sessions.Streams;

/// <summary>The request side of <see cref="StreamMuxConnection"/>'s loop: reads, writes, opens and accepts parked until the core can serve them.</summary>
public sealed partial class StreamMuxConnection
{
    private static void Settle(MuxOperation op)
    {
        if (op.TryClaim())
        {
            op.Succeed(0);
        }
    }

    private void EndHandle(MuxStream h, string why, long code)
    {
        h.WriteEnded = true;
        h.ReadEnded = true;
        _handles.Remove(h.StreamId);
        h.PendingRead?.Fail(new StreamMuxException($"A read failed: {why}.", code, null));
        h.PendingWrite?.Fail(new StreamMuxException($"A write failed: {why}.", code, null));
        h.PendingRead = null;
        h.PendingWrite = null;
    }

    private static StreamMuxException StoppedException(MuxStream h, long code, int unwritten, int total) =>
        new($"Stream {h.StreamId} was stopped by the peer (STOP_SENDING, code {code}) with {unwritten} of {total} bytes unwritten.", code, null);

    private void TryRead(MuxStream h)
    {
        var op = h.PendingRead;
        if (op is null)
        {
            return;
        }

        if (!op.TryClaim())
        {
            h.PendingRead = null;
            return;
        }

        // A zero-byte read waits until the stream is readable, then returns 0 without consuming anything (as sockets do).
        var result = h.PeerResetCode is { } code ? new StreamReadResult(0, StreamReadStatus.Reset, code)
            : h.ReadEnded ? new StreamReadResult(0, StreamReadStatus.Finished)
            : op.Buffer.IsEmpty ? new StreamReadResult(0, _mux.IsReadable(h.StreamId) ? StreamReadStatus.Data : StreamReadStatus.Blocked)
            : _mux.Read(h.StreamId, op.Buffer.Span);
        switch (result.Status)
        {
            case StreamReadStatus.Blocked:
                op.Unclaim();
                if (op.Token.IsCancellationRequested)
                {
                    op.Cancel();
                    h.PendingRead = null;
                }

                return;
            case StreamReadStatus.Data:
                op.Succeed(result.Bytes);
                break;
            case StreamReadStatus.Finished:
                h.ReadEnded = true;
                op.Succeed(0);
                break;
            case StreamReadStatus.Reset:
                h.ReadEnded = true;
                h.PeerResetCode = result.ErrorCode;
                op.Fail(new StreamMuxException($"Stream {h.StreamId} was reset by the peer with code {result.ErrorCode} during a read.", result.ErrorCode, null));
                break;
            default:
                op.Fail(_mux.IsClosed ? ClosedException($"a read on stream {h.StreamId} waited") : new StreamMuxException($"Stream {h.StreamId} can no longer be read.", 0, null));
                break;
        }

        h.PendingRead = null;
    }

    private void TryWrite(MuxStream h)
    {
        var op = h.PendingWrite;
        if (op is null)
        {
            return;
        }

        if (op.IsCancelled)
        {
            h.PendingWrite = null;
            return;
        }

        while (op.Written < op.Data.Length)
        {
            var result = _mux.Write(h.StreamId, op.Data.Span[op.Written..]);
            switch (result.Status)
            {
                case StreamWriteStatus.Accepted:
                    op.Written += result.Bytes;
                    continue;
                case StreamWriteStatus.Blocked:
                    return;
                case StreamWriteStatus.Stopped:
                    h.WriteEnded = true;
                    h.PeerStopCode = result.ErrorCode;
                    op.Fail(StoppedException(h, result.ErrorCode, op.Data.Length - op.Written, op.Data.Length));
                    break;
                default:
                    op.Fail(_mux.IsClosed ? ClosedException($"a write on stream {h.StreamId} waited")
                        : h.PeerStopCode is { } stopCode ? StoppedException(h, stopCode, op.Data.Length - op.Written, op.Data.Length)
                        : new StreamMuxException($"Stream {h.StreamId} can no longer be written.", 0, null));
                    break;
            }

            h.PendingWrite = null;
            return;
        }

        h.PendingWrite = null;
        Settle(op);
    }

    private void OpenWaiting()
    {
        while (_openWaiters.TryPeek(out var op))
        {
            if (op.IsCancelled)
            {
                _openWaiters.Dequeue();
                continue;
            }

            if (!_mux.TryOpenStream(out var id))
            {
                return;
            }

            _openWaiters.Dequeue();
            var h = new MuxStream(this, id);
            _handles.Add(id, h);
            if (op.TryClaim())
            {
                op.Result = h;
                op.Succeed(0);
            }
            else
            {
                // Cancelled while the stream opened: nobody holds it, so finish it at once.
                _mux.Finish(id);
                _mux.StopSending(id, 0);
                _handles.Remove(id);
            }
        }
    }

    private void AcceptWaiting()
    {
        while (_acceptable.Count > 0 && _acceptWaiters.TryDequeue(out var op))
        {
            if (op.TryClaim())
            {
                op.Result = _acceptable.Dequeue();
                op.Succeed(0);
            }
        }
    }
}
