using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using Overlay.Exchange.Internal;
using Overlay.Exchange.Wire;
using Overlay.Storage;

namespace Overlay.Exchange;

/// <summary>
/// Serves blocks from an <see cref="IBlockStore"/> to requesters: length-prefixed <c>BlockRequest</c> frames in,
/// <c>BlockResponse</c> frames out (Wire/exchange.proto), answered in order on each connection, each echoing its
/// request_id. The store verifies blocks on read, so only blocks that match their CID are served.
/// </summary>
/// <remarks>
/// <para>
/// Limits (ARCHITECTURE.md, "Block exchange"): at most <see cref="ExchangeOptions.MaxConnectionsPerIp"/> connections
/// per IPv4 address or IPv6 /64, refused on accept beyond it; at most <see cref="ExchangeOptions.MaxConnections"/> in
/// all, where a newcomer evicts the connection that has waited longest for a request, or is refused when every one is
/// in the middle of a request. Deadlines, on the <see cref="TimeProvider"/> given to the constructor:
/// <see cref="ExchangeOptions.FirstRequestTimeout"/> from accept to the first request byte,
/// <see cref="ExchangeOptions.FrameTimeout"/> from a request's first byte to its last and for each answer (store read
/// and response write), <see cref="ExchangeOptions.IdleTimeout"/> from a response to the next request byte.
/// </para>
/// <para>
/// Memory per connection: one request at a time, at most <see cref="ExchangeOptions.MaxRequestFrameBytes"/>; the next
/// pipelined request is read only after the previous response is written, so read-ahead waits in the kernel's socket
/// buffer and TCP flow control holds back the requester. One response in flight: while it is encoded, the block and its
/// frame (≤ 2 × (<see cref="ExchangeOptions.MaxFrameBytes"/> + 4) bytes); while it is written, the frame alone.
/// </para>
/// <para>
/// An oversized, truncated or unparsable request frame, a passed deadline or an eviction closes that connection, is
/// counted (<see cref="GetRefusedCount"/>, metric <c>overlay.exchange.connections.refused</c>) and logged at Debug;
/// refusals are summarised at Warning at most once a minute, so a flood does not flood the log. None stops the server.
/// A request with an invalid CID or unsupported version gets <c>STATUS_REFUSED</c>, an absent block
/// <c>STATUS_NOT_FOUND</c>, a store I/O failure or a block too large for a frame <c>STATUS_ERROR</c>. Thread-safe.
/// </para>
/// </remarks>
public sealed class BlockExchangeServer : IAsyncDisposable
{
    /// <summary>The protocol name of block exchange streams on peer sessions: <c>/overlay/exchange/1</c> (the daemon's
    /// connection manager routes streams opened with it to this server).</summary>
    public const string ProtocolName = "/overlay/exchange/1";

    /// <summary>Least time between two refusal summaries at Warning (log event 3006): 1 minute.</summary>
    private static readonly TimeSpan RefusalSummaryInterval = TimeSpan.FromMinutes(1);

    private readonly IBlockStore _store;
    private readonly ExchangeOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<BlockExchangeServer> _logger;
    private readonly CancellationTokenSource _shutdown = new();
    private readonly ConnectionTable _table;
    private readonly ConcurrentDictionary<Task, byte> _connections = new();
    private readonly long[] _refused = new long[Enum.GetValues<ConnectionRefusal>().Length];
    private readonly long[] _refusedAtLastSummary = new long[Enum.GetValues<ConnectionRefusal>().Length];
    private readonly object _summaryGate = new();
    private long _lastSummary;
    private long _sequence;
    private IStreamListener? _listener;
    private Task? _acceptLoop;
    private int _disposed;

    /// <summary>Creates a server; call <see cref="Start(IPEndPoint)"/> to listen, or <see cref="ServeAsync"/> to serve a given stream.</summary>
    /// <param name="store">The blocks to serve.</param>
    /// <param name="options">Frame limit, connection limits and deadlines.</param>
    /// <param name="timeProvider">The clock every deadline runs on (virtual time in tests).</param>
    /// <param name="logger">Receives connection and error messages (EventIds 3000-3009).</param>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="options"/> fails <see cref="ExchangeOptions.Validate"/>.</exception>
    public BlockExchangeServer(IBlockStore store, ExchangeOptions options, TimeProvider timeProvider, ILogger<BlockExchangeServer> logger)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(logger);
        options.ThrowIfInvalid();
        _store = store;
        _options = options;
        _timeProvider = timeProvider;
        _logger = logger;
        _table = new ConnectionTable(options.MaxConnections, options.MaxConnectionsPerIp);
        _lastSummary = timeProvider.GetTimestamp();
    }

    /// <summary>Gets the bound endpoint (with the actual port when 0 was requested).</summary>
    /// <exception cref="InvalidOperationException"><see cref="Start(IPEndPoint)"/> has not been called.</exception>
    public IPEndPoint LocalEndPoint => _listener?.LocalEndPoint ?? throw new InvalidOperationException("the server has not been started");

    /// <summary>Gets the number of accepted connections being served now, 0..<see cref="ExchangeOptions.MaxConnections"/>
    /// (streams given to <see cref="ServeAsync"/> are not counted).</summary>
    public int OpenConnections => _table.Count;

    /// <summary>Returns the number of accepted connections being served now from <paramref name="address"/>'s group: its
    /// IPv4 address (IPv4-mapped IPv6 counts as IPv4) or its IPv6 /64.</summary>
    /// <param name="address">A peer address.</param>
    /// <returns>0..<see cref="ExchangeOptions.MaxConnectionsPerIp"/>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="address"/> is null.</exception>
    public int GetOpenConnectionsFrom(IPAddress address) => _table.CountFrom(AddressGroup.Of(address));

    /// <summary>Returns how many connections this server has refused or cut for <paramref name="reason"/> since it was created.</summary>
    /// <param name="reason">A reason.</param>
    /// <returns>A count ≥ 0. Every refusal or cut is counted before its socket is closed, so whoever has seen a
    /// connection closed by the server sees it counted here.</returns>
    public long GetRefusedCount(ConnectionRefusal reason) => Interlocked.Read(ref _refused[(int)reason]);

    /// <summary>Returns the number of accepted connections in <paramref name="phase"/>; for tests that drive deadlines.</summary>
    internal int CountConnectionsIn(ConnectionPhase phase) => _table.CountIn(phase);

    /// <summary>Binds a TCP listener to <paramref name="listenEndPoint"/> and starts accepting connections in the background.</summary>
    /// <param name="listenEndPoint">Address and port; port 0 picks an ephemeral port (see <see cref="LocalEndPoint"/>).</param>
    /// <exception cref="SocketException">The address cannot be bound, e.g. the port is taken.</exception>
    /// <exception cref="InvalidOperationException">The server was already started.</exception>
    /// <exception cref="ObjectDisposedException">The server was disposed.</exception>
    public void Start(IPEndPoint listenEndPoint)
    {
        ArgumentNullException.ThrowIfNull(listenEndPoint);
        ThrowIfStartedOrDisposed();
        Accept(TcpStreamListener.Start(listenEndPoint));
    }

    /// <summary>Starts accepting the streams <paramref name="listener"/> yields, and takes ownership of it (it is disposed
    /// with the server): a TCP socket bound together with the node's UDP port, the streams of secure sessions, or
    /// in-memory pairs in tests.</summary>
    /// <param name="listener">The accept side of the stream seam.</param>
    /// <exception cref="ArgumentNullException"><paramref name="listener"/> is null.</exception>
    /// <exception cref="InvalidOperationException">The server was already started.</exception>
    /// <exception cref="ObjectDisposedException">The server was disposed.</exception>
    public void Start(IStreamListener listener)
    {
        ArgumentNullException.ThrowIfNull(listener);
        ThrowIfStartedOrDisposed();
        Accept(listener);
    }

    private void ThrowIfStartedOrDisposed()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (_listener is not null)
        {
            throw new InvalidOperationException("the server is already started");
        }
    }

    private void Accept(IStreamListener listener)
    {
        _listener = listener;
        ExchangeLog.Listening(_logger, listener.LocalEndPoint);
        _acceptLoop = Task.Run(() => AcceptLoopAsync(listener, _shutdown.Token), CancellationToken.None);
    }

    /// <summary>
    /// Serves one connection until the peer closes it, sends a bad frame, passes a deadline (see the class remarks), or
    /// <paramref name="cancellationToken"/> is cancelled. Never throws for peer misbehaviour; logs the reason. Does not
    /// dispose <paramref name="stream"/>. Not counted against the connection limits.
    /// </summary>
    /// <param name="stream">A connected bidirectional stream.</param>
    /// <param name="cancellationToken">Stops serving.</param>
    /// <returns>A task completing when the connection ends.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="stream"/> is null.</exception>
    public Task ServeAsync(Stream stream, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        return ServeGivenStreamAsync(stream, cancellationToken);
    }

    /// <summary>Stops listening, closes every connection and waits for them to finish.</summary>
    /// <returns>A task completing when the server has stopped.</returns>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _shutdown.CancelAsync().ConfigureAwait(false);
        if (_listener is not null)
        {
            await _listener.DisposeAsync().ConfigureAwait(false);
        }

        if (_acceptLoop is not null)
        {
            await _acceptLoop.ConfigureAwait(false);
        }

        await Task.WhenAll(_connections.Keys).ConfigureAwait(false);
        _shutdown.Dispose();
    }

    private async Task ServeGivenStreamAsync(Stream stream, CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _shutdown.Token);
        using var connection = new ServerConnection(null, "stream", Interlocked.Increment(ref _sequence), _options, _timeProvider, stop.Token);
        await ServeCoreAsync(stream, connection).ConfigureAwait(false);
    }

    private async Task AcceptLoopAsync(IStreamListener listener, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            AcceptedStream accepted;
            try
            {
                accepted = await listener.AcceptAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }

            Admit(accepted.Stream, accepted.Remote, cancellationToken);
        }
    }

    /// <summary>Admits a stream by the connection limits and starts serving it, or closes it at once.</summary>
    private void Admit(Stream stream, IPEndPoint remote, CancellationToken cancellationToken)
    {
        var group = AddressGroup.Of(remote.Address);
        var connection = new ServerConnection(group, remote.ToString(), Interlocked.Increment(ref _sequence), _options, _timeProvider, cancellationToken);
        if (_table.TryAdmit(connection, out var evicted) is { } refusal)
        {
            // Counted before the socket closes, so a peer that has seen the close finds the refusal counted.
            ExchangeLog.ConnectionRefused(_logger, remote, Describe(refusal, group));
            CountRefusal(refusal);
            connection.Dispose();
            stream.Dispose();
            return;
        }

        ExchangeMetrics.ConnectionsOpen.Add(1);
        if (evicted is not null)
        {
            // Its slot is already the newcomer's; it closes as soon as its serving loop sees the cancellation.
            ExchangeMetrics.ConnectionsOpen.Add(-1);
            evicted.Evict();
        }

        var task = HandleStreamAsync(stream, connection);
        _connections.TryAdd(task, 0);
        _ = task.ContinueWith(t => _connections.TryRemove(t, out _), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    private async Task HandleStreamAsync(Stream accepted, ServerConnection connection)
    {
        await Task.Yield();
        try
        {
            await using var stream = accepted;
            await ServeCoreAsync(stream, connection).ConfigureAwait(false);
        }
        finally
        {
            if (_table.Remove(connection))
            {
                ExchangeMetrics.ConnectionsOpen.Add(-1);
            }

            connection.Dispose();
        }
    }

    private async Task ServeCoreAsync(Stream stream, ServerConnection connection)
    {
        var token = connection.Token;
        var header = new byte[4];
        string reason;
        ConnectionRefusal? refusal = null;
        try
        {
            while (true)
            {
                int got = await stream.ReadAsync(header, token).ConfigureAwait(false);
                if (got == 0)
                {
                    reason = "peer closed the connection";
                    break;
                }

                // From the first byte on, the frame has FrameTimeout to complete, however it trickles in.
                connection.Enter(ConnectionPhase.ReadingFrame);
                if (got < header.Length)
                {
                    got += await stream.ReadAtLeastAsync(header.AsMemory(got), header.Length - got, throwOnEndOfStream: false, token).ConfigureAwait(false);
                    if (got < header.Length)
                    {
                        (refusal, reason) = (ConnectionRefusal.BadFrame, $"truncated frame header ({got} of 4 bytes)");
                        break;
                    }
                }

                uint length = BinaryPrimitives.ReadUInt32BigEndian(header);
                if (length > ExchangeOptions.MaxRequestFrameBytes)
                {
                    (refusal, reason) = (ConnectionRefusal.BadFrame, $"request frame of {length} bytes exceeds the limit of {ExchangeOptions.MaxRequestFrameBytes}");
                    break;
                }

                var payload = new byte[length];
                got = await stream.ReadAtLeastAsync(payload, payload.Length, throwOnEndOfStream: false, token).ConfigureAwait(false);
                if (got < payload.Length)
                {
                    (refusal, reason) = (ConnectionRefusal.BadFrame, $"truncated frame ({got} of {length} bytes)");
                    break;
                }

                BlockRequest request;
                try
                {
                    request = BlockRequest.Parser.ParseFrom(payload);
                }
                catch (InvalidProtocolBufferException ex)
                {
                    (refusal, reason) = (ConnectionRefusal.BadFrame, $"malformed request frame: {ex.Message}");
                    break;
                }

                connection.Enter(ConnectionPhase.Answering);
                var (frame, blockBytes) = await AnswerAsync(request, connection.Remote, token).ConfigureAwait(false);
                await stream.WriteAsync(frame, token).ConfigureAwait(false);
                await stream.FlushAsync(token).ConfigureAwait(false);
                if (blockBytes >= 0)
                {
                    ExchangeMetrics.BlocksServed.Add(1);
                    ExchangeMetrics.BytesServed.Add(blockBytes);
                }

                connection.Enter(ConnectionPhase.Idle);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or ObjectDisposedException)
        {
            // A deadline or an eviction cancels the token; the socket may then report the abort as an IOException.
            if (connection.CutReason is { } cut)
            {
                (refusal, reason) = (cut, Describe(cut, connection.Group));
            }
            else
            {
                reason = ex switch
                {
                    OperationCanceledException => "server stopping",
                    IOException io => $"connection error: {io.Message}",
                    _ => "connection closed",
                };
            }
        }

        if (refusal is { } counted)
        {
            ExchangeLog.ConnectionCut(_logger, connection.Remote, reason);
            CountRefusal(counted);
        }
        else
        {
            ExchangeLog.ConnectionEnded(_logger, connection.Remote, reason);
        }
    }

    /// <summary>Answers one request; the block is referenced only until its frame is encoded, so one copy is held while writing.</summary>
    /// <returns>The encoded response frame, and the block's length when it carries a block (else −1).</returns>
    private async ValueTask<(byte[] Frame, int BlockBytes)> AnswerAsync(BlockRequest request, string remote, CancellationToken cancellationToken)
    {
        var response = new BlockResponse { Version = ExchangeOptions.ProtocolVersion, RequestId = request.RequestId };
        if (request.Version != ExchangeOptions.ProtocolVersion || !Cid.TryFromBytes(request.Cid.Span, out var cid))
        {
            response.Status = Status.Refused;
            return (Framing.Encode(response, _options.MaxFrameBytes), -1);
        }

        byte[]? block;
        try
        {
            block = await _store.GetAsync(cid, cancellationToken).ConfigureAwait(false);
        }
        catch (IOException ex)
        {
            ExchangeLog.StoreReadFailed(_logger, cid.ToString(), remote, ex);
            response.Status = Status.Error;
            return (Framing.Encode(response, _options.MaxFrameBytes), -1);
        }

        if (block is null)
        {
            response.Status = Status.NotFound;
            return (Framing.Encode(response, _options.MaxFrameBytes), -1);
        }

        response.Data = UnsafeByteOperations.UnsafeWrap(block);
        if (response.CalculateSize() > _options.MaxFrameBytes)
        {
            response.Status = Status.Error;
            return (Framing.Encode(response, _options.MaxFrameBytes), -1);
        }

        return (Framing.Encode(response, _options.MaxFrameBytes), block.Length);
    }

    private string Describe(ConnectionRefusal reason, AddressGroup? group) => reason switch
    {
        ConnectionRefusal.Total => $"{_options.MaxConnections} connections open, each in the middle of a request",
        ConnectionRefusal.PerIp => $"{_options.MaxConnectionsPerIp} connections already open from {group}",
        ConnectionRefusal.Evicted => $"evicted for a newcomer: {_options.MaxConnections} connections were open and this one had waited longest for a request",
        ConnectionRefusal.FirstRequestTimeout => $"no request within {_options.FirstRequestTimeout.TotalSeconds:0.###} s of accept",
        ConnectionRefusal.FrameTimeout => $"request frame not complete {_options.FrameTimeout.TotalSeconds:0.###} s after its first byte",
        ConnectionRefusal.ResponseTimeout => $"response not written within {_options.FrameTimeout.TotalSeconds:0.###} s",
        ConnectionRefusal.Idle => $"idle for {_options.IdleTimeout.TotalSeconds:0.###} s",
        _ => ExchangeMetrics.Tag(reason),
    };

    /// <summary>Counts a refusal; at most once per <see cref="RefusalSummaryInterval"/>, logs a Warning summarising every refusal since the last one.</summary>
    private void CountRefusal(ConnectionRefusal reason)
    {
        Interlocked.Increment(ref _refused[(int)reason]);
        ExchangeMetrics.Refused(reason);
        if (reason == ConnectionRefusal.Idle)
        {
            // Closing a peer that left its connection open is housekeeping, not a sign of attack.
            return;
        }

        long now = _timeProvider.GetTimestamp();
        long count = 0;
        var parts = new List<string>();
        TimeSpan elapsed;
        lock (_summaryGate)
        {
            elapsed = _timeProvider.GetElapsedTime(_lastSummary, now);
            bool first = _refusedAtLastSummary.All(n => n == 0);
            if (!first && elapsed < RefusalSummaryInterval)
            {
                return;
            }

            foreach (var r in Enum.GetValues<ConnectionRefusal>())
            {
                long current = Interlocked.Read(ref _refused[(int)r]);
                long delta = current - _refusedAtLastSummary[(int)r];
                _refusedAtLastSummary[(int)r] = current;
                if (delta > 0 && r != ConnectionRefusal.Idle)
                {
                    count += delta;
                    parts.Add($"{ExchangeMetrics.Tag(r)} {delta}");
                }
            }

            _lastSummary = now;
        }

        if (count > 0)
        {
            ExchangeLog.RefusalSummary(_logger, count, elapsed, string.Join(", ", parts), _table.Count);
        }
    }
}
