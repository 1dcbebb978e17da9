using System.Net;

namespace Overlay.Transport;

/// <summary>
/// Opens a bidirectional byte stream to a peer: the seam under the exchange. Streams of secure sessions in the daemon
/// (<see cref="Connections.ConnectionStreamConnector"/>), plain TCP (<see cref="TcpStreamConnector"/>), in-memory pipes
/// in tests.
/// </summary>
public interface IStreamConnector
{
    /// <summary>Opens a stream to <paramref name="peer"/>; the caller owns and disposes it.</summary>
    /// <param name="peer">The peer's address and port, and the node ID expected there if known (an
    /// <see cref="IPEndPoint"/> converts to a <see cref="PeerAddress"/> without one).</param>
    /// <param name="cancellationToken">Cancels the attempt (the fetcher uses it for its connect timeout).</param>
    /// <returns>A connected stream.</returns>
    /// <exception cref="System.Net.Sockets.SocketException">The peer refused or could not be reached.</exception>
    /// <exception cref="IOException">The connection failed for another reason.</exception>
    /// <exception cref="Sessions.SecureHandshakeException">A secure connector could not prove the peer's identity.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    ValueTask<Stream> ConnectAsync(PeerAddress peer, CancellationToken cancellationToken = default);
}
