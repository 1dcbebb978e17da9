using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Overlay.Transport.Internal;

namespace Overlay.Transport;

/// <summary>An <see cref="IStreamListener"/> over a listening TCP socket: each accepted connection, with Nagle disabled
/// and keepalives on (<see cref="TcpKeepAlive"/>), is one stream. Owns the socket. AcceptAsync may be called by one loop at a time.</summary>
public sealed class TcpStreamListener : IStreamListener
{
    private readonly TcpListener _listener;
    private readonly ILogger _logger;
    private int _disposed;

    /// <summary>Wraps a started <see cref="TcpListener"/> (e.g. one bound together with the node's UDP port) and owns it.</summary>
    /// <param name="listener">A listener whose Start has been called.</param>
    /// <param name="logger">Receives accept failures of single connections (EventId 1010); none when null.</param>
    /// <exception cref="ArgumentNullException"><paramref name="listener"/> is null.</exception>
    public TcpStreamListener(TcpListener listener, ILogger<TcpStreamListener>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(listener);
        _listener = listener;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        LocalEndPoint = (IPEndPoint)listener.LocalEndpoint;
    }

    /// <inheritdoc />
    public IPEndPoint LocalEndPoint { get; }

    /// <summary>Binds and starts listening at <paramref name="endPoint"/>.</summary>
    /// <param name="endPoint">Address and port; port 0 picks a free port.</param>
    /// <param name="logger">Receives accept failures; none when null.</param>
    /// <returns>The listener.</returns>
    /// <exception cref="SocketException">The address cannot be bound, e.g. the port is taken.</exception>
    public static TcpStreamListener Start(IPEndPoint endPoint, ILogger<TcpStreamListener>? logger = null)
    {
        var listener = new TcpListener(endPoint);
        listener.Start();
        return new TcpStreamListener(listener, logger);
    }

    /// <inheritdoc />
    public async ValueTask<AcceptedStream> AcceptAsync(CancellationToken cancellationToken = default)
    {
        while (true)
        {
            ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
            Socket socket;
            try
            {
                socket = await _listener.AcceptSocketAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (SocketException ex) when (!cancellationToken.IsCancellationRequested && Volatile.Read(ref _disposed) == 0)
            {
                // Per-connection accept errors (e.g. ECONNABORTED) do not stop the listener.
                TransportLog.AcceptFailed(_logger, LocalEndPoint, ex.SocketErrorCode);
                continue;
            }
            catch (SocketException) when (Volatile.Read(ref _disposed) != 0)
            {
                throw new ObjectDisposedException(nameof(TcpStreamListener));
            }

            try
            {
                socket.NoDelay = true;
                TcpKeepAlive.Enable(socket);
                if (socket.RemoteEndPoint is IPEndPoint remote)
                {
                    return new AcceptedStream(new NetworkStream(socket, ownsSocket: true), remote, null);
                }
            }
            catch (SocketException ex)
            {
                TransportLog.AcceptFailed(_logger, LocalEndPoint, ex.SocketErrorCode);
            }

            // Reset before its address could be read: nothing to serve.
            socket.Dispose();
        }
    }

    /// <summary>Stops listening; a pending <see cref="AcceptAsync"/> ends with <see cref="ObjectDisposedException"/> or
    /// <see cref="OperationCanceledException"/>.</summary>
    /// <returns>A completed task.</returns>
    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _listener.Stop();
            _listener.Dispose();
        }

        return ValueTask.CompletedTask;
    }
}
