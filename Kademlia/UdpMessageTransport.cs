using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Overlay.Kademlia.Internal;

namespace Overlay.Kademlia;

/// <summary>
/// The production <see cref="IMessageTransport"/>: one UDP socket, a dedicated receive thread with blocking
/// <c>ReceiveFrom</c> (measured faster here than an async receive loop), and synchronous <c>SendTo</c>.
/// Datagrams larger than <see cref="KademliaOptions.MaxDatagramBytes"/> are dropped and counted; socket errors on
/// send are counted, never thrown. Thread-safe.
/// </summary>
public sealed class UdpMessageTransport : IMessageTransport
{
    private const int ReceiveThreadStackBytes = 256 * 1024;

    private readonly Socket _socket;
    private readonly ILogger _logger;
    private Thread? _thread;
    private DatagramHandler? _handler;
    private volatile bool _disposed;
    private long _oversized;
    private long _sendErrors;

    private UdpMessageTransport(Socket socket, ILogger logger)
    {
        _socket = socket;
        _logger = logger;
        LocalEndPoint = (IPEndPoint)socket.LocalEndPoint!;
    }

    /// <inheritdoc />
    public IPEndPoint LocalEndPoint { get; }

    /// <inheritdoc />
    public bool RequiresAsynchronousContinuations => true;

    /// <summary>Gets the number of received datagrams dropped for exceeding 1232 bytes.</summary>
    public long OversizedDropped => Interlocked.Read(ref _oversized);

    /// <summary>Gets the number of sends that failed with a socket error.</summary>
    public long SendErrors => Interlocked.Read(ref _sendErrors);

    /// <summary>Binds a UDP socket to <paramref name="endPoint"/> (port 0 picks a free port).</summary>
    /// <param name="endPoint">Local address and port.</param>
    /// <param name="receiveBufferBytes">SO_RCVBUF, bytes (the kernel may cap it at net.core.rmem_max).</param>
    /// <param name="logger">Logger; none when null.</param>
    /// <returns>The bound transport; call <see cref="Start"/> to receive.</returns>
    /// <exception cref="SocketException">The address is not local or the port is in use.</exception>
    public static UdpMessageTransport Bind(IPEndPoint endPoint, int receiveBufferBytes, ILogger<UdpMessageTransport>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        var socket = new Socket(endPoint.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            socket.ReceiveBufferSize = receiveBufferBytes;
            socket.SendBufferSize = Math.Max(socket.SendBufferSize, 1024 * 1024);
            socket.Bind(endPoint);
        }
        catch (SocketException)
        {
            socket.Dispose();
            throw;
        }

        return new UdpMessageTransport(socket, (ILogger?)logger ?? NullLogger.Instance);
    }

    /// <inheritdoc />
    public void Start(DatagramHandler handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (Interlocked.CompareExchange(ref _handler, handler, null) is not null)
        {
            throw new InvalidOperationException("The transport is already started.");
        }

        _thread = new Thread(ReceiveLoop, ReceiveThreadStackBytes)
        {
            IsBackground = true,
            Name = $"udp-recv {LocalEndPoint}",
        };
        _thread.Start();
    }

    /// <inheritdoc />
    public void Send(IPEndPoint remote, ReadOnlySpan<byte> datagram)
    {
        if (_disposed)
        {
            return;
        }

        try
        {
            _socket.SendTo(datagram, SocketFlags.None, remote);
        }
        catch (SocketException ex)
        {
            Interlocked.Increment(ref _sendErrors);
            TransportLog.SendFailed(_logger, remote, ex.SocketErrorCode);
        }
        catch (ObjectDisposedException)
        {
            // Disposed concurrently: sends after shutdown are dropped by design.
        }
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return ValueTask.CompletedTask;
        }

        _disposed = true;
        _socket.Dispose();
        if (_thread is not null && _thread != Thread.CurrentThread)
        {
            _thread.Join(TimeSpan.FromSeconds(5));
        }

        return ValueTask.CompletedTask;
    }

    private void ReceiveLoop()
    {
        var buffer = new byte[64 * 1024];
        var address = new SocketAddress(_socket.AddressFamily);
        var template = LocalEndPoint;
        while (!_disposed)
        {
            int received;
            try
            {
                received = _socket.ReceiveFrom(buffer, SocketFlags.None, address);
            }
            catch (SocketException ex) when (!_disposed)
            {
                // ICMP-induced errors (connection reset/refused) on an unconnected socket: nothing to do but go on.
                TransportLog.ReceiveFailed(_logger, ex.SocketErrorCode);
                continue;
            }
            catch (SocketException)
            {
                break;
            }
            catch (ObjectDisposedException)
            {
                break;
            }

            if (received > KademliaOptions.MaxDatagramBytes)
            {
                Interlocked.Increment(ref _oversized);
                continue;
            }

            var remote = (IPEndPoint)template.Create(address);
            try
            {
                _handler!(remote, buffer.AsSpan(0, received));
            }
#pragma warning disable CA1031 // A bug in a handler must not stop the node from receiving; it is logged with its stack.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                TransportLog.HandlerFailed(_logger, remote, ex);
            }
        }
    }
}
