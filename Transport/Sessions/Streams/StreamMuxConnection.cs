using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Overlay.Transport.Sessions.Streams.Internal;

namespace Overlay.Transport.Sessions.Streams;

/// <summary>
/// Drives one <see cref="StreamMux"/> over an <see cref="IPacketLink"/> and gives its streams out as
/// <see cref="MuxStream"/>s. One loop owns the core: received payloads, application requests and timer wake-ups reach
/// it through one bounded channel (<see cref="StreamMuxOptions.InputQueueCapacity"/>); built payloads leave through
/// another (<see cref="StreamMuxOptions.OutputQueueCapacity"/>) to a sender task, so a link that blocks a send never
/// stops the loop from reading (which would deadlock two peers over TCP). Timers come from the injected
/// <see cref="TimeProvider"/>, so a simulation runs it in virtual time.
/// </summary>
/// <remarks>Thread-safe: every public member may be called from any thread.</remarks>
public sealed partial class StreamMuxConnection : IAsyncDisposable
{
    /// <summary>How long <see cref="DisposeAsync"/> waits for the loop, sender and receiver to stop, on the connection's clock: 5 s.</summary>
    public static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(5);

    private readonly StreamMux _mux;
    private readonly IPacketLink _link;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly bool _asynchronous;
    private readonly bool _sendsDirectly;
    private readonly bool _pullsDirectly;
    private readonly long _start;
    private readonly int _outputCapacity;
    private readonly Channel<MuxInput> _input;
    private readonly Channel<MuxOutput> _output;
    private readonly ConcurrentQueue<MuxOperation> _posted = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly ITimer _timer;
    private readonly TaskCompletionSource<MuxCloseInfo> _closed;
    private readonly object _statsGate = new();
    private StreamMuxStatistics _statistics;
    private Task _loop = Task.CompletedTask;
    private Task _receiver = Task.CompletedTask;
    private Task _sender = Task.CompletedTask;
    private int _started;
    private int _disposed;

    /// <summary>Creates the connection; nothing runs until <see cref="Start"/>.</summary>
    /// <param name="link">The packet link; the connection disposes it.</param>
    /// <param name="isClient">True on the session's initiator (even stream ids).</param>
    /// <param name="options">Parameters; null for the defaults (datagram path).</param>
    /// <param name="timeProvider">The clock for timers; null for <see cref="TimeProvider.System"/>.</param>
    /// <param name="logger">Receives close, protocol-error and failure messages (EventIds 1200-1209); null for none.</param>
    /// <exception cref="ArgumentException">An option is out of range, or <see cref="StreamMuxOptions.MaxPayloadBytes"/> exceeds the link's.</exception>
    public StreamMuxConnection(IPacketLink link, bool isClient, StreamMuxOptions? options = null, TimeProvider? timeProvider = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(link);
        options ??= new StreamMuxOptions();
        _mux = new StreamMux(isClient, options);
        if (options.MaxPayloadBytes > link.MaxPayloadBytes)
        {
            throw new ArgumentException($"StreamMuxOptions.MaxPayloadBytes = {options.MaxPayloadBytes} exceeds the link's {link.MaxPayloadBytes}.", nameof(options));
        }

        _link = link;
        _time = timeProvider ?? TimeProvider.System;
        _logger = logger ?? NullLogger.Instance;
        _asynchronous = link.RequiresAsynchronousContinuations;
        _sendsDirectly = link.SendsWithoutWaiting;
        _pullsDirectly = link.CanNotify;
        _start = _time.GetTimestamp();
        _outputCapacity = options.OutputQueueCapacity;
        _input = Channel.CreateBounded<MuxInput>(new BoundedChannelOptions(options.InputQueueCapacity)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
            AllowSynchronousContinuations = !_asynchronous,
        });
        _output = Channel.CreateBounded<MuxOutput>(new BoundedChannelOptions(options.OutputQueueCapacity)
        {
            SingleReader = true,
            SingleWriter = true,
            AllowSynchronousContinuations = !_asynchronous,
        });
        _closed = new TaskCompletionSource<MuxCloseInfo>(_asynchronous ? TaskCreationOptions.RunContinuationsAsynchronously : TaskCreationOptions.None);
        _timer = _time.CreateTimer(static state => ((StreamMuxConnection)state!).Wake(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        _statistics = _mux.GetStatistics();
    }

    /// <summary>Gets a task that completes with the reason when the connection has closed (by either side, an error, the idle timeout or the link).</summary>
    public Task<MuxCloseInfo> Completion => _closed.Task;

    /// <summary>Gets the core's statistics as of the loop's last pass.</summary>
    public StreamMuxStatistics Statistics
    {
        get
        {
            lock (_statsGate)
            {
                return _statistics;
            }
        }
    }

    /// <summary>Starts the loop, the receiver and the sender. Call once.</summary>
    /// <exception cref="InvalidOperationException">Already started, or disposed.</exception>
    public void Start()
    {
        if (Volatile.Read(ref _disposed) != 0 || Interlocked.Exchange(ref _started, 1) != 0)
        {
            throw new InvalidOperationException("The stream connection was already started or is disposed.");
        }

        _loop = RunLoopAsync();
        if (_pullsDirectly)
        {
            _link.StartNotifying(Wake);
        }

        _receiver = _pullsDirectly ? Task.CompletedTask : ReceiveLoopAsync();
        _sender = _sendsDirectly ? Task.CompletedTask : SendLoopAsync();
    }

    /// <summary>Opens a stream, waiting while the peer's stream limit is reached.</summary>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>The new stream (the peer learns of it with its first frame).</returns>
    /// <exception cref="StreamMuxException">The connection closed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async ValueTask<MuxStream> OpenStreamAsync(CancellationToken cancellationToken = default)
    {
        var op = await SubmitAsync(new MuxOperation(MuxOperationKind.Open, null, _asynchronous), cancellationToken).ConfigureAwait(false);
        await op.Completion.Task.ConfigureAwait(false);
        return op.Result!;
    }

    /// <summary>Waits for the next stream the peer opened.</summary>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>The stream.</returns>
    /// <exception cref="StreamMuxException">The connection closed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async ValueTask<MuxStream> AcceptStreamAsync(CancellationToken cancellationToken = default)
    {
        var op = await SubmitAsync(new MuxOperation(MuxOperationKind.Accept, null, _asynchronous), cancellationToken).ConfigureAwait(false);
        await op.Completion.Task.ConfigureAwait(false);
        return op.Result!;
    }

    /// <summary>Closes the connection (CONNECTION_CLOSE with an application code) and waits until it has closed.</summary>
    /// <param name="errorCode">The application's code, 0 ..= 2^62 − 1; 0 for a normal close.</param>
    /// <param name="reason">Text for people; cut to 128 bytes of UTF-8.</param>
    /// <param name="cancellationToken">Cancels the wait (the close still happens).</param>
    /// <returns>Why it closed (a peer's close may have come first).</returns>
    /// <exception cref="InvalidOperationException">The connection was not started.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async ValueTask<MuxCloseInfo> CloseAsync(long errorCode = 0, string reason = "", CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(reason);
        if (Volatile.Read(ref _started) == 0)
        {
            throw new InvalidOperationException("The stream connection was not started.");
        }

        ArgumentOutOfRangeException.ThrowIfGreaterThan((ulong)errorCode, (ulong)QuicVarint.MaxValue, nameof(errorCode));
        var op = new MuxOperation(MuxOperationKind.Close, null, _asynchronous) { Code = errorCode, Reason = reason };
        Post(op);
        return await _closed.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Closes the connection (application code 0, "disposed") if open, waits up to <see cref="StopTimeout"/> for its tasks, and disposes the link.</summary>
    /// <returns>A task.</returns>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        if (Volatile.Read(ref _started) != 0)
        {
            Post(new MuxOperation(MuxOperationKind.Close, null, _asynchronous) { Reason = "disposed" });
            try
            {
                await _loop.WaitAsync(StopTimeout, _time).ConfigureAwait(false);
                await _sender.WaitAsync(StopTimeout, _time).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                StreamsLog.StopTimedOut(_logger, StopTimeout);
            }

            _stop.Cancel();
            try
            {
                await _receiver.WaitAsync(StopTimeout, _time).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                StreamsLog.StopTimedOut(_logger, StopTimeout);
            }
        }

        else
        {
            _closed.TrySetResult(new MuxCloseInfo((long)StreamMuxError.NoError, false, "disposed before it started", ByPeer: false));
        }

        _timer.Dispose();
        await _link.DisposeAsync().ConfigureAwait(false);
        _stop.Dispose();
    }

    /// <summary>Reads from <paramref name="stream"/> (see <see cref="MuxStream.ReadAsync(Memory{byte}, CancellationToken)"/>).</summary>
    internal async ValueTask<int> ReadAsync(MuxStream stream, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        var op = await SubmitAsync(new MuxOperation(MuxOperationKind.Read, stream, _asynchronous) { Buffer = buffer }, cancellationToken).ConfigureAwait(false);
        return await op.Completion.Task.ConfigureAwait(false);
    }

    /// <summary>Writes to <paramref name="stream"/> (see <see cref="MuxStream.WriteAsync(ReadOnlyMemory{byte}, CancellationToken)"/>).</summary>
    internal async ValueTask WriteAsync(MuxStream stream, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        var op = await SubmitAsync(new MuxOperation(MuxOperationKind.Write, stream, _asynchronous) { Data = data }, cancellationToken).ConfigureAwait(false);
        await op.Completion.Task.ConfigureAwait(false);
    }

    /// <summary>Waits for a transmit pass after earlier requests (see <see cref="MuxStream.FlushAsync(CancellationToken)"/>).</summary>
    internal ValueTask FlushAsync(MuxStream stream, CancellationToken cancellationToken) => EnqueueAsync(MuxOperationKind.Flush, stream, 0, cancellationToken);

    /// <summary>Queues a request about <paramref name="stream"/> and waits until the loop settled it.</summary>
    internal async ValueTask EnqueueAsync(MuxOperationKind kind, MuxStream stream, long code, CancellationToken cancellationToken)
    {
        var op = await SubmitAsync(new MuxOperation(kind, stream, _asynchronous) { Code = code }, cancellationToken).ConfigureAwait(false);
        await op.Completion.Task.ConfigureAwait(false);
    }

    /// <summary>Queues a request without waiting (from Dispose and Abort); each stream posts at most a few, so the side queue stays bounded.</summary>
    internal void Post(MuxOperationKind kind, MuxStream stream, long code) =>
        Post(new MuxOperation(kind, stream, _asynchronous) { Code = code });

    private void Post(MuxOperation op)
    {
        _posted.Enqueue(op);
        Wake();
    }

    private void Wake() => _input.Writer.TryWrite(new MuxInput(MuxInputKind.Wake));

    private async ValueTask<MuxOperation> SubmitAsync(MuxOperation op, CancellationToken cancellationToken)
    {
        if (cancellationToken.CanBeCanceled)
        {
            op.Token = cancellationToken;
            op.Registration = cancellationToken.Register(static state => ((MuxOperation)state!).Cancel(), op);
        }

        try
        {
            await _input.Writer.WriteAsync(new MuxInput(MuxInputKind.Operation, Operation: op), cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException)
        {
            op.Fail(ClosedException("the request was made"));
        }

        return op;
    }

    private TimeSpan Now() => _time.GetElapsedTime(_start);

    private StreamMuxException ClosedException(string during)
    {
        var info = _mux.CloseInfo ?? new MuxCloseInfo((long)StreamMuxError.NoError, false, "closed", ByPeer: false);
        return new StreamMuxException($"The stream connection closed ({info}) while {during}.", info.ErrorCode, info);
    }
}
