using System.Net;
using System.Net.Sockets;

namespace Overlay.Transport;

/// <summary>An <see cref="IStreamConnector"/> opening plain TCP connections with Nagle disabled and keepalives on (a
/// silent dead peer fails the stream within 30 s, <see cref="Internal.TcpKeepAlive"/>); the expected node ID of a
/// <see cref="PeerAddress"/> is not checked (nothing on plain TCP proves one). Thread-safe.</summary>
public sealed class TcpStreamConnector : IStreamConnector
{
    /// <inheritdoc />
    public async ValueTask<Stream> ConnectAsync(PeerAddress peer, CancellationToken cancellationToken = default)
    {
        var endPoint = peer.EndPoint;
        ArgumentNullException.ThrowIfNull(endPoint);
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        Internal.TcpKeepAlive.Enable(socket);
        try
        {
            await socket.ConnectAsync(endPoint, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException or IOException)
        {
            socket.Dispose();
            throw;
        }

        return new NetworkStream(socket, ownsSocket: true);
    }
}
