using System.Buffers;
using Overlay.Transport.Sessions.Streams.Internal;

namespace Overlay.Transport.Sessions.Streams;

/// <summary>The loop of <see cref="StreamMuxConnection"/>: the only code that touches the core.</summary>
public sealed partial class StreamMuxConnection
{
    /// <summary>Transmit passes per loop step (each may free send-buffer room that parked writes then fill).</summary>
    private const int TransmitPasses = 4;

    private readonly Dictionary<long, MuxStream> _handles = [];
    private readonly Queue<MuxStream> _acceptable = new();
    private readonly Queue<MuxOperation> _acceptWaiters = new();
    private readonly Queue<MuxOperation> _openWaiters = new();
    private readonly List<MuxOperation> _flushWaiters = [];
    private int _outputBlocked;
    private int _linkClosedPosted;
    private byte[]? _pullBuffer;

    private async Task RunLoopAsync()
    {
        var reader = _input.Reader;
        try
        {
            while (true)
            {
                Step();
                if (_mux.IsClosed)
                {
                    break;
                }

                ArmTimer();
                if (!await reader.WaitToReadAsync(_stop.Token).ConfigureAwait(false))
                {
                    break;
                }
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            _mux.Abort("disposed");
        }
        catch (Exception ex)
        {
            // The loop must not die silently: whatever broke (a bug), the connection closes and every waiter learns why.
            StreamsLog.LoopFailed(_logger, ex);
            _mux.Abort($"internal error: {ex.GetType().Name}");
        }
        finally
        {
            Shutdown();
        }
    }

    private void Step()
    {
        var now = Now();
        while (_input.Reader.TryRead(out var item))
        {
            Handle(item, now);
        }

        if (_pullsDirectly)
        {
            PullFromLink(now);
        }

        while (_posted.TryDequeue(out var op))
        {
            HandleOperation(op);
        }

        if (_mux.NextTimeout is { } due && due <= now)
        {
            _mux.OnTimeout(now);
        }

        for (var pass = 0; pass < TransmitPasses; pass++)
        {
            DrainEvents();
            if (Transmit(now) == 0)
            {
                break;
            }
        }

        DrainEvents();
        foreach (var op in _flushWaiters)
        {
            if (op.TryClaim())
            {
                op.Succeed(0);
            }
        }

        _flushWaiters.Clear();
        lock (_statsGate)
        {
            _statistics = _mux.GetStatistics();
        }
    }

    private void Handle(in MuxInput item, TimeSpan now)
    {
        switch (item.Kind)
        {
            case MuxInputKind.Packet:
                if (!_mux.TryReceive(item.Buffer.AsSpan(0, item.Length), item.PacketNumber, now, out var error))
                {
                    StreamsLog.ProtocolError(_logger, error);
                }

                ArrayPool<byte>.Shared.Return(item.Buffer!);
                break;
            case MuxInputKind.Operation:
                HandleOperation(item.Operation!);
                break;
        }
    }

    private void HandleOperation(MuxOperation op)
    {
        if (op.IsCancelled)
        {
            return;
        }

        if (_mux.IsClosed)
        {
            if (op.Kind is not (MuxOperationKind.Release or MuxOperationKind.Close or MuxOperationKind.LinkLost))
            {
                op.Fail(ClosedException(Describe(op)));
            }

            return;
        }

        var h = op.Stream;
        switch (op.Kind)
        {
            case MuxOperationKind.Open:
                _openWaiters.Enqueue(op);
                OpenWaiting();
                break;
            case MuxOperationKind.Accept:
                _acceptWaiters.Enqueue(op);
                AcceptWaiting();
                break;
            case MuxOperationKind.Read when h!.PendingRead is { IsCancelled: false }:
            case MuxOperationKind.Write when h!.PendingWrite is { IsCancelled: false }:
                op.Fail(new InvalidOperationException($"Another {op.Kind.ToString().ToLowerInvariant()} is outstanding on stream {h.StreamId}."));
                break;
            case MuxOperationKind.Read:
                h.PendingRead = op;
                TryRead(h);
                break;
            case MuxOperationKind.Write when h!.PeerStopCode is { } stopCode:
                op.Fail(StoppedException(h, stopCode, op.Data.Length, op.Data.Length));
                break;
            case MuxOperationKind.Write when h.WriteEnded:
                op.Fail(new InvalidOperationException($"Stream {h.StreamId}'s send half was finished or aborted."));
                break;
            case MuxOperationKind.Write:
                h.PendingWrite = op;
                TryWrite(h);
                break;
            case MuxOperationKind.Flush:
                _flushWaiters.Add(op);
                break;
            case MuxOperationKind.Finish:
                h!.WriteEnded = true;
                _mux.Finish(h.StreamId);
                Settle(op);
                break;
            case MuxOperationKind.Abort:
                _mux.ResetStream(h!.StreamId, op.Code);
                _mux.StopSending(h.StreamId, op.Code);
                EndHandle(h, $"stream {h.StreamId} was aborted locally with code {op.Code}", op.Code);
                break;
            case MuxOperationKind.Release:
                if (!h!.WriteEnded)
                {
                    _mux.Finish(h.StreamId);
                }

                if (!h.ReadEnded)
                {
                    _mux.StopSending(h.StreamId, 0);
                }

                EndHandle(h, $"stream {h.StreamId} was disposed", 0);
                break;
            case MuxOperationKind.Close:
                _mux.Close(op.Code, op.Reason);
                break;
            case MuxOperationKind.LinkLost:
                _mux.Abort(op.Reason.Length == 0 ? "the packet link closed" : $"the packet link closed: {op.Reason}");
                break;
        }
    }

    private static string Describe(MuxOperation op) => op.Stream is { } s ? $"a {op.Kind.ToString().ToLowerInvariant()} on stream {s.StreamId} waited" : $"an {op.Kind.ToString().ToLowerInvariant()} waited";

    private void DrainEvents()
    {
        while (_mux.TryDequeueEvent(out var e))
        {
            switch (e.Kind)
            {
                case StreamMuxEventKind.StreamOpened:
                    var h = new MuxStream(this, e.StreamId);
                    _handles.Add(e.StreamId, h);
                    _acceptable.Enqueue(h);
                    AcceptWaiting();
                    break;
                case StreamMuxEventKind.StreamReadable when _handles.TryGetValue(e.StreamId, out var readable):
                    TryRead(readable);
                    break;
                case StreamMuxEventKind.StreamWritable when _handles.TryGetValue(e.StreamId, out var writable):
                    TryWrite(writable);
                    break;
                case StreamMuxEventKind.StreamStopped when _handles.TryGetValue(e.StreamId, out var stopped):
                    stopped.PeerStopCode = e.ErrorCode;
                    TryWrite(stopped);
                    break;
                case StreamMuxEventKind.StreamsAvailable:
                    OpenWaiting();
                    break;
                case StreamMuxEventKind.ConnectionClosed:
                    FailAll();
                    break;
            }
        }
    }

    private void ArmTimer()
    {
        if (_mux.NextTimeout is not { } due)
        {
            _timer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            return;
        }

        var delay = due - Now();
        if (delay <= TimeSpan.Zero && Volatile.Read(ref _outputBlocked) != 0)
        {
            return; // what is due waits for output room, and the sender wakes us when there is some
        }

        _timer.Change(delay > TimeSpan.Zero ? delay : TimeSpan.Zero, Timeout.InfiniteTimeSpan);
    }

    private void FailAll()
    {
        foreach (var h in _handles.Values)
        {
            h.PendingRead?.Fail(ClosedException($"a read on stream {h.StreamId} waited"));
            h.PendingWrite?.Fail(ClosedException($"a write on stream {h.StreamId} waited"));
            h.PendingRead = null;
            h.PendingWrite = null;
        }

        foreach (var op in _openWaiters.Concat(_acceptWaiters).Concat(_flushWaiters))
        {
            op.Fail(ClosedException(Describe(op)));
        }

        _openWaiters.Clear();
        _acceptWaiters.Clear();
        _flushWaiters.Clear();
    }

    private void Shutdown()
    {
        _timer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        try
        {
            Transmit(Now()); // the CONNECTION_CLOSE, if one is owed
        }
        finally
        {
            _output.Writer.TryComplete();
            _input.Writer.TryComplete();
            DrainEvents();
            FailAll();
            while (_input.Reader.TryRead(out var item))
            {
                if (item.Buffer is { } buffer)
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                }

                item.Operation?.Fail(ClosedException(Describe(item.Operation)));
            }

            var info = _mux.CloseInfo ?? new MuxCloseInfo((long)StreamMuxError.NoError, false, "stopped", ByPeer: false);
            StreamsLog.Closed(_logger, info);
            _closed.TrySetResult(info);
        }
    }

}
