namespace Overlay.Transport.Sessions;

/// <summary>Why a session ended, as users see it in the log, on the API and in the CLI.</summary>
public enum SessionCloseReason
{
    /// <summary>This side closed it.</summary>
    Closed = 0,

    /// <summary>No authenticated packet arrived for <see cref="SessionOptions.DeadAfter"/>: the connection was lost.</summary>
    Lost,

    /// <summary>The handshake got no answer within <see cref="SessionOptions.HandshakeAttempts"/> initiations.</summary>
    HandshakeTimeout,

    /// <summary>The handshake failed (a bad proof, the wrong peer, a tampered message).</summary>
    HandshakeFailed,

    /// <summary>The session's packet numbers ran out (2^64 − 1); a new session is needed.</summary>
    Exhausted,

    /// <summary>The endpoint was disposed.</summary>
    Shutdown,
}
