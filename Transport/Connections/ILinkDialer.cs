namespace Overlay.Transport.Connections;

/// <summary>Establishes secure sessions to peers on one path; the <see cref="ConnectionManager"/> races its dialers
/// (RFC 8305 style: the first, then the next after <see cref="ConnectionManagerOptions.AttemptDelay"/>).</summary>
public interface ILinkDialer
{
    /// <summary>Gets the path this dialer uses.</summary>
    ConnectionPath Path { get; }

    /// <summary>Runs a handshake with <paramref name="peer"/> and returns the session.</summary>
    /// <param name="peer">Where to dial, and the node ID the other end must prove if known.</param>
    /// <param name="cancellationToken">Cancels the attempt (the race cancels losers this way).</param>
    /// <returns>The established session.</returns>
    /// <exception cref="Sessions.SecureHandshakeException">The handshake failed (wrong node ID, bad proof) or timed out.</exception>
    /// <exception cref="System.Net.Sockets.SocketException">The peer could not be reached (TCP refused, unreachable).</exception>
    /// <exception cref="IOException">The path failed during the handshake.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    ValueTask<EstablishedLink> DialAsync(PeerAddress peer, CancellationToken cancellationToken = default);
}
