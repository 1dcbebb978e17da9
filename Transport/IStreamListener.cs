using System.Net;

namespace Overlay.Transport;

/// <summary>
/// The accept side of the stream seam, beside <see cref="IStreamConnector"/>: yields the streams peers open to this
/// node. Plain TCP today (<see cref="TcpStreamListener"/>), streams of secure sessions next, in-memory pairs in tests.
/// </summary>
public interface IStreamListener : IAsyncDisposable
{
    /// <summary>Gets the local endpoint peers connect to (with the actual port when 0 was asked).</summary>
    IPEndPoint LocalEndPoint { get; }

    /// <summary>Waits for the next stream a peer opens. Failures of single incoming connections (a peer that resets
    /// before it is accepted) are skipped, never thrown.</summary>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>The stream, which the caller owns and disposes, with where it came from.</returns>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    /// <exception cref="ObjectDisposedException">The listener was disposed (the usual way an accept loop ends).</exception>
    ValueTask<AcceptedStream> AcceptAsync(CancellationToken cancellationToken = default);
}
