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
/// An oversized, truncated or unparsable frame, or a connection idle for <see cref="ExchangeOptions.IdleTimeout"/>,
/// closes that connection with a logged reason; it never stops the server. A request with an invalid CID or
/// unsupported version gets <c>STATUS_REFUSED</c>, an absent block <c>STATUS_NOT_FOUND</c>, a store I/O failure or a
/// block too large for a frame <c>STATUS_ERROR</c>. At most <see cref="ExchangeOptions.MaxConnections"/> connections are
/// served at once; further ones are closed on accept. Thread-safe.
/// </remarks>
public sealed class BlockExchangeServer : IAsyncDisposable
{
    private readonly IBlockStore _store;
    private readonly ExchangeOptions _options;
    private readonly ILogger<BlockExchangeServer> _logger;
    private readonly CancellationTokenSource _shutdown = new();
    private readonly SemaphoreSlim _connectionSlots;
    private readonly ConcurrentDictionary<Task, byte> _connections = new();
    private TcpListener? _listener;
    private Task? _acceptLoop;
    private int _disposed;

    /// <summary>Creates a server; call <see cref="Start"/> to listen, or <see cref="ServeAsync"/> to serve a given stream.</summary>
    /// <param name="store">The blocks to serve.</param>
    /// <param name="options">Frame limit, idle timeout and connection limit.</param>
    /// <param name="logger">Receives connection and error messages (EventIds 3000-3009).</param>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="options"/> fails <see cref="ExchangeOptions.Validate"/>.</exception>
    public BlockExchangeServer(IBlockStore store, ExchangeOptions options, ILogger<BlockExchangeServer> logger)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(logger);
        options.ThrowIfInvalid();
        _store = store;
        _options = options;
        _logger = logger;
        _connectionSlots = new SemaphoreSlim(options.MaxConnections, options.MaxConnections);
    }

    /// <summary>Gets the bound endpoint (with the actual port when 0 was requested).</summary>
    /// <exception cref="InvalidOperationException"><see cref="Start"/> has not been called.</exception>
    public IPEndPoint LocalEndPoint => (IPEndPoint?)_listener?.LocalEndpoint ?? throw new InvalidOperationException("the server has not been started");

    /// <summary>Binds a TCP listener to <paramref name="listenEndPoint"/> and starts accepting connections in the background.</summary>
    /// <param name="listenEndPoint">Address and port; port 0 picks an ephemeral port (see <see cref="LocalEndPoint"/>).</param>
    /// <exception cref="SocketException">The address cannot be bound, e.g. the port is taken.</exception>
    /// <exception cref="InvalidOperationException">The server was already started.</exception>
    /// <exception cref="ObjectDisposedException">The server was disposed.</exception>
    public void Start(IPEndPoint listenEndPoint)
    {
        ArgumentNullException.ThrowIfNull(listenEndPoint);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (_listener is not null)
        {
            throw new InvalidOperationException("the server is already started");
        }

        var listener = new TcpListener(listenEndPoint);
        listener.Start();
        _listener = listener;
        ExchangeLog.Listening(_logger, listener.LocalEndpoint);
        _acceptLoop = Task.Run(() => AcceptLoopAsync(listener, _shutdown.Token), CancellationToken.None);
    }

    /// <summary>
    /// Serves one connection until the peer closes it, sends a bad frame, idles past
    /// <see cref="ExchangeOptions.IdleTimeout"/>, or <paramref name="cancellationToken"/> is cancelled. Never throws for
    /// peer misbehaviour; logs the reason. Does not dispose <paramref name="stream"/>.
    /// </summary>
    /// <param name="stream">A connected bidirectional stream.</param>
    /// <param name="cancellationToken">Stops serving.</param>
    /// <returns>A task completing when the connection ends.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="stream"/> is null.</exception>
    public Task ServeAsync(Stream stream, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        return ServeCoreAsync(stream, "stream", cancellationToken);
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
        _listener?.Stop();
        if (_acceptLoop is not null)
        {
            await _acceptLoop.ConfigureAwait(false);
        }

        await Task.WhenAll(_connections.Keys).ConfigureAwait(false);
        _listener?.Dispose();
        _shutdown.Dispose();
        _connectionSlots.Dispose();
    }

    private async Task AcceptLoopAsync(TcpListener listener, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await listener.AcceptSocketAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            catch (SocketException ex)
            {
                if (cancellationToken.IsCancellationRequested)
                {
                    return;
                }

                // Per-connection accept errors (e.g. ECONNABORTED) do not stop the listener.
                ExchangeLog.AcceptFailed(_logger, listener.LocalEndpoint, ex);
                continue;
            }

            if (!_connectionSlots.Wait(0, CancellationToken.None))
            {
                ExchangeMetrics.ConnectionsRejected.Add(1);
                ExchangeLog.ConnectionLimit(_logger, socket.RemoteEndPoint, _options.MaxConnections);
                socket.Dispose();
                continue;
            }

            var task = HandleSocketAsync(socket, cancellationToken);
            _connections.TryAdd(task, 0);
            _ = task.ContinueWith(t => _connections.TryRemove(t, out _), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
    }

    private async Task HandleSocketAsync(Socket socket, CancellationToken cancellationToken)
    {
        await Task.Yield();
        string remote = socket.RemoteEndPoint?.ToString() ?? "unknown";
        try
        {
            socket.NoDelay = true;
            await using var stream = new NetworkStream(socket, ownsSocket: true);
            await ServeCoreAsync(stream, remote, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _connectionSlots.Release();
        }
    }

    private async Task ServeCoreAsync(Stream stream, string remote, CancellationToken cancellationToken)
    {
        string reason;
        bool misbehaved = false;
        using var idle = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        try
        {
            while (true)
            {
                idle.CancelAfter(_options.IdleTimeout);
                byte[]? frame = await Framing.ReadFrameAsync(stream, _options.MaxFrameBytes, idle.Token).ConfigureAwait(false);
                if (frame is null)
                {
                    reason = "peer closed the connection";
                    break;
                }

                BlockRequest request;
                try
                {
                    request = BlockRequest.Parser.ParseFrom(frame);
                }
                catch (InvalidProtocolBufferException ex)
                {
                    reason = $"malformed request frame: {ex.Message}";
                    misbehaved = true;
                    break;
                }

                var response = await AnswerAsync(request, remote, cancellationToken).ConfigureAwait(false);
                await Framing.WriteFrameAsync(stream, response, _options.MaxFrameBytes, cancellationToken).ConfigureAwait(false);
                if (response.ResultCase == BlockResponse.ResultOneofCase.Data)
                {
                    ExchangeMetrics.BlocksServed.Add(1);
                    ExchangeMetrics.BytesServed.Add(response.Data.Length);
                }
            }
        }
        catch (InvalidDataException ex)
        {
            reason = ex.Message;
            misbehaved = true;
        }
        catch (IOException ex)
        {
            reason = $"connection error: {ex.Message}";
        }
        catch (ObjectDisposedException)
        {
            reason = "connection closed";
        }
        catch (OperationCanceledException)
        {
            reason = cancellationToken.IsCancellationRequested ? "server stopping" : $"idle for {_options.IdleTimeout.TotalSeconds:0.###} s";
        }

        if (misbehaved)
        {
            ExchangeMetrics.ConnectionsRejected.Add(1);
            ExchangeLog.ConnectionClosedBadInput(_logger, remote, reason);
        }
        else
        {
            ExchangeLog.ConnectionEnded(_logger, remote, reason);
        }
    }

    private async ValueTask<BlockResponse> AnswerAsync(BlockRequest request, string remote, CancellationToken cancellationToken)
    {
        var response = new BlockResponse { Version = ExchangeOptions.ProtocolVersion, RequestId = request.RequestId };
        if (request.Version != ExchangeOptions.ProtocolVersion || !Cid.TryFromBytes(request.Cid.Span, out var cid))
        {
            response.Status = Status.Refused;
            return response;
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
            return response;
        }

        if (block is null)
        {
            response.Status = Status.NotFound;
            return response;
        }

        response.Data = UnsafeByteOperations.UnsafeWrap(block);
        if (response.CalculateSize() > _options.MaxFrameBytes)
        {
            response.Status = Status.Error;
        }

        return response;
    }
}
