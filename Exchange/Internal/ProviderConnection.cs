using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using Overlay.Exchange.Wire;
using Overlay.Storage;

namespace Overlay.Exchange.Internal;

/// <summary>
/// One fetcher-side connection to a provider: connected lazily, requests pipelined with unique request IDs, a
/// reader loop matching responses to requests, and a window of <see cref="ExchangeOptions.RequestWindow"/>
/// in-flight requests. Once dropped it stays dropped and fails every pending and future request.
/// </summary>
internal sealed class ProviderConnection : IAsyncDisposable
{
    private readonly IStreamConnector _connector;
    private readonly ExchangeOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly Action<ProviderConnection, string> _onDropped;
    private readonly ConcurrentDictionary<ulong, TaskCompletionSource<BlockResponse>> _pending = new();
    private readonly SemaphoreSlim _connectLock = new(1, 1);
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly CancellationTokenSource _dropped = new();
    private Stream? _stream;
    private Task? _readLoop;
    private long _nextRequestId;
    private int _isDropped;
    private string? _dropReason;

    public ProviderConnection(PeerAddress peer, IStreamConnector connector, ExchangeOptions options, TimeProvider timeProvider, ILogger logger, Action<ProviderConnection, string> onDropped)
    {
        _onDropped = onDropped;
        Peer = peer;
        _connector = connector;
        _options = options;
        _timeProvider = timeProvider;
        _logger = logger;
        Window = new SemaphoreSlim(options.RequestWindow, options.RequestWindow);
    }

    /// <summary>Gets the provider's address and, when known, its node ID.</summary>
    public PeerAddress Peer { get; }

    /// <summary>Gets the provider's address and port.</summary>
    public IPEndPoint EndPoint => Peer.EndPoint;

    /// <summary>Gets the in-flight request window; callers hold a slot around <see cref="RequestAsync"/>.</summary>
    public SemaphoreSlim Window { get; }

    public bool IsLive => Volatile.Read(ref _isDropped) == 0;

    public string DropReason => _dropReason ?? "not dropped";

    /// <summary>Gets a token cancelled when the provider is dropped.</summary>
    public CancellationToken DroppedToken => _dropped.Token;

    /// <summary>Sends one request and waits for its response.</summary>
    /// <exception cref="ProviderFailureException">The connection failed, timed out or was dropped.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<BlockResponse> RequestAsync(Cid cid, CancellationToken cancellationToken)
    {
        var stream = await EnsureConnectedAsync(cancellationToken).ConfigureAwait(false);
        ulong id = (ulong)Interlocked.Increment(ref _nextRequestId);
        var tcs = new TaskCompletionSource<BlockResponse>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = tcs;
        try
        {
            if (!IsLive)
            {
                throw new ProviderFailureException(DropReason);
            }

            var request = new BlockRequest { Version = ExchangeOptions.ProtocolVersion, RequestId = id, Cid = ByteString.CopyFrom(cid.ToBytes()) };
            await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                await Framing.WriteFrameAsync(stream, request, _options.MaxFrameBytes, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or ObjectDisposedException or SocketException)
            {
                throw new ProviderFailureException(IsLive ? $"send failed: {ex.Message}" : DropReason, ex);
            }
            finally
            {
                _writeLock.Release();
            }

            try
            {
                return await tcs.Task.WaitAsync(_options.RequestTimeout, _timeProvider, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException ex)
            {
                throw new ProviderFailureException($"no response within {_options.RequestTimeout.TotalSeconds:0.###} s", ex);
            }
        }
        finally
        {
            _pending.TryRemove(id, out _);
        }
    }

    /// <summary>Marks the provider dropped, closes its connection and fails pending requests.</summary>
    /// <returns>True if this call dropped it, false if it was already dropped.</returns>
    public bool Drop(string reason)
    {
        if (Interlocked.Exchange(ref _isDropped, 1) != 0)
        {
            return false;
        }

        _dropReason = reason;
        _dropped.Cancel();
        _stream?.Dispose();
        foreach (var pending in _pending.Values)
        {
            pending.TrySetException(new ProviderFailureException(reason));
        }

        _onDropped(this, reason);
        return true;
    }

    public async ValueTask DisposeAsync()
    {
        if (IsLive)
        {
            _dropReason = "fetch finished";
            Interlocked.Exchange(ref _isDropped, 1);
            _dropped.Cancel();
        }

        if (_stream is not null)
        {
            await _stream.DisposeAsync().ConfigureAwait(false);
        }

        if (_readLoop is not null)
        {
            await _readLoop.ConfigureAwait(false);
        }

        _dropped.Dispose();
        _connectLock.Dispose();
        _writeLock.Dispose();
        Window.Dispose();
    }

    private async ValueTask<Stream> EnsureConnectedAsync(CancellationToken cancellationToken)
    {
        if (_stream is { } existing)
        {
            return existing;
        }

        await _connectLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_stream is { } raced)
            {
                return raced;
            }

            if (!IsLive)
            {
                throw new ProviderFailureException(DropReason);
            }

            using var timeout = new CancellationTokenSource(_options.ConnectTimeout, _timeProvider);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token, _dropped.Token);
            Stream stream;
            try
            {
                stream = await _connector.ConnectAsync(Peer, linked.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
            {
                throw new ProviderFailureException(
                    timeout.IsCancellationRequested ? $"connect timed out after {_options.ConnectTimeout.TotalSeconds:0.###} s" : DropReason, ex);
            }
            catch (SocketException ex)
            {
                throw new ProviderFailureException($"connect failed: {ex.SocketErrorCode}", ex);
            }
            catch (IOException ex)
            {
                throw new ProviderFailureException($"connect failed: {ex.Message}", ex);
            }

            _stream = stream;
            _readLoop = Task.Run(() => ReadLoopAsync(stream), CancellationToken.None);
            return stream;
        }
        finally
        {
            _connectLock.Release();
        }
    }

    private async Task ReadLoopAsync(Stream stream)
    {
        string reason;
        try
        {
            while (true)
            {
                byte[]? frame = await Framing.ReadFrameAsync(stream, _options.MaxFrameBytes, _dropped.Token).ConfigureAwait(false);
                if (frame is null)
                {
                    reason = "disconnected";
                    break;
                }

                BlockResponse response;
                try
                {
                    response = BlockResponse.Parser.ParseFrom(frame);
                }
                catch (InvalidProtocolBufferException ex)
                {
                    reason = $"malformed response: {ex.Message}";
                    break;
                }

                if (response.Version != ExchangeOptions.ProtocolVersion)
                {
                    reason = $"unsupported protocol version {response.Version}";
                    break;
                }

                if (_pending.TryGetValue(response.RequestId, out var tcs))
                {
                    tcs.TrySetResult(response);
                }
                else
                {
                    // A response to a request that already timed out or was cancelled; harmless.
                    ExchangeLog.UnknownResponse(_logger, EndPoint, response.RequestId);
                }
            }
        }
        catch (InvalidDataException ex)
        {
            reason = ex.Message;
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
            reason = "connection closed";
        }

        Drop(reason);
    }
}
