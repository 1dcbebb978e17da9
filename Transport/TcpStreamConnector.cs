using System.Net;
using System.Net.Sockets;

namespace Overlay.Transport;

/// <summary>An <see cref="IStreamConnector"/> opening plain TCP connections with Nagle disabled. Thread-safe.</summary>
public sealed class TcpStreamConnector : IStreamConnector
{
    /// <inheritdoc />
    public async ValueTask<Stream> ConnectAsync(IPEndPoint endPoint, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
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
