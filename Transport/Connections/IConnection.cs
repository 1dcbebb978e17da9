using System.Net;

namespace Overlay.Transport.Connections;

/// <summary>
/// An authenticated, encrypted session with one peer, over UDP or TCP, carrying many streams: the seam the block
/// exchange (and later pub/sub and relays) run over, whatever the path. Obtained from a <see cref="ConnectionManager"/>.
/// Thread-safe.
/// </summary>
public interface IConnection
{
    /// <summary>Gets the peer's node ID, proven in the handshake (SHA-256 of the Ed25519 key that signed the session's static key).</summary>
    NodeId RemoteId { get; }

    /// <summary>Gets the peer's current address and port (follows an authenticated roaming peer on UDP).</summary>
    IPEndPoint RemoteEndPoint { get; }

    /// <summary>Gets what carries the session.</summary>
    ConnectionPath Path { get; }

    /// <summary>Gets whether this node dialled.</summary>
    bool IsInitiator { get; }

    /// <summary>Gets when the session was established (UTC, the manager's clock).</summary>
    DateTimeOffset EstablishedAt { get; }

    /// <summary>Gets how long the handshake took.</summary>
    TimeSpan HandshakeTime { get; }

    /// <summary>Gets a snapshot of the connection's counters.</summary>
    ConnectionStatistics Statistics { get; }

    /// <summary>Gets a task that completes, with the reason, when the connection has ended.</summary>
    Task<ConnectionEvent> Completion { get; }

    /// <summary>Opens a stream for <paramref name="protocol"/>; the peer's manager hands it to the listener of that
    /// protocol or resets it.</summary>
    /// <param name="protocol">The protocol's name, e.g. <c>/overlay/exchange/1</c>: 1 to 64 printable ASCII characters.</param>
    /// <param name="cancellationToken">Cancels waiting for the peer's stream limit.</param>
    /// <returns>The stream; the caller disposes it (FIN).</returns>
    /// <exception cref="ArgumentException"><paramref name="protocol"/> is empty, too long or not printable ASCII.</exception>
    /// <exception cref="ConnectionClosedException">The connection has ended.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    ValueTask<Stream> OpenStreamAsync(string protocol, CancellationToken cancellationToken = default);

    /// <summary>Closes the connection with a reason the peer sees, and waits until it has ended.</summary>
    /// <param name="reason">Text for people (e.g. "shutting down"), up to 128 bytes of UTF-8 reach the peer.</param>
    /// <param name="cancellationToken">Cancels the wait (the close still happens).</param>
    /// <returns>A task.</returns>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    ValueTask CloseAsync(string reason, CancellationToken cancellationToken = default);
}
