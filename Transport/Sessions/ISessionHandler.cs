namespace Overlay.Transport.Sessions;

/// <summary>What a <see cref="UdpSessionEndpoint"/> tells its owner. Called on the owner's thread, from within the
/// endpoint's methods; implementations must not call back into the endpoint re-entrantly except
/// its <c>Send</c> overloads.</summary>
public interface ISessionHandler
{
    /// <summary>A handshake completed: the peer's node ID is proven.</summary>
    /// <param name="session">The new session.</param>
    void OnEstablished(UdpSession session);

    /// <summary>An authenticated payload arrived (keepalives, which are empty, are not reported).</summary>
    /// <param name="session">Its session.</param>
    /// <param name="packetNumber">Its packet number (unique per session; packets may arrive out of order).</param>
    /// <param name="payload">The plaintext, valid only during the call.</param>
    void OnData(UdpSession session, ulong packetNumber, ReadOnlySpan<byte> payload);

    /// <summary>A session, or a handshake this side started, ended.</summary>
    /// <param name="session">The session, or null for a handshake that never completed.</param>
    /// <param name="remote">The peer's last address.</param>
    /// <param name="reason">Why.</param>
    void OnClosed(UdpSession? session, System.Net.IPEndPoint remote, SessionCloseReason reason);
}
