namespace Overlay.Transport.Sessions;

/// <summary>Why a received session packet was dropped; counted by <see cref="UdpSessionEndpoint.GetDropCount"/>.</summary>
public enum SessionDrop
{
    /// <summary>Its layout was wrong for its type.</summary>
    Malformed = 0,

    /// <summary>Its receiver index names no session or handshake here.</summary>
    UnknownIndex,

    /// <summary>It did not authenticate (tampered, truncated or forged).</summary>
    Forged,

    /// <summary>Its packet number was seen before or is older than the replay window.</summary>
    Replay,

    /// <summary>An initiation without a valid cookie arrived under load; a cookie reply was sent instead of state kept.</summary>
    CookieRequired,

    /// <summary>An initiation arrived while <see cref="SessionOptions.MaxPendingHandshakes"/> were pending.</summary>
    HandshakeTableFull,

    /// <summary>A handshake message failed its checks (see <see cref="Noise.HandshakeFailure"/>).</summary>
    HandshakeFailed,

    /// <summary>An initiation offered no cipher suite this side accepts (<see cref="SessionOptions.CipherSuites"/>), or a
    /// response chose one this side did not offer; the handshake is refused.</summary>
    UnsupportedSuite,
}
