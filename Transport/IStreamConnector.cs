using System.Net;

namespace Overlay.Transport;

/// <summary>
/// Opens a bidirectional byte stream to a peer: the seam under the exchange, plain TCP today
/// (<see cref="TcpStreamConnector"/>), secure sessions later, in-memory pipes in tests.
/// </summary>
public interface IStreamConnector
{
    /// <summary>Opens a stream to <paramref name="endPoint"/>; the caller owns and disposes it.</summary>
    /// <param name="endPoint">The peer's address and port.</param>
    /// <param name="cancellationToken">Cancels the attempt (the fetcher uses it for its connect timeout).</param>
    /// <returns>A connected stream.</returns>
    /// <exception cref="System.Net.Sockets.SocketException">The peer refused or could not be reached.</exception>
    /// <exception cref="IOException">The connection failed for another reason.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    ValueTask<Stream> ConnectAsync(IPEndPoint endPoint, CancellationToken cancellationToken = default);
}
