using System.Net;

namespace Overlay.Transport.Connections;

/// <summary>What happened to a connection.</summary>
public enum ConnectionEventKind
{
    /// <summary>A session was established and the peer's node ID proven.</summary>
    Connected,

    /// <summary>The peer's address changed and the session followed it (an authenticated packet from the new address).</summary>
    PathChanged,

    /// <summary>The connection ended without a close: the peer went silent (no packet within the session's dead
    /// interval), the path failed, or the handshake-proven peer vanished.</summary>
    Lost,

    /// <summary>The connection was closed by this node or by the peer, with a reason.</summary>
    Closed,
}

/// <summary>One connection event, as the log, <c>GET /api/v0/events</c> and <c>overlay connections --watch</c> show it.</summary>
/// <param name="Kind">What happened.</param>
/// <param name="Peer">The peer's node ID.</param>
/// <param name="Path">UDP or TCP.</param>
/// <param name="Remote">The peer's address and port (the new one for <see cref="ConnectionEventKind.PathChanged"/>).</param>
/// <param name="Reason">Why, for <see cref="ConnectionEventKind.Lost"/> and <see cref="ConnectionEventKind.Closed"/>
/// (e.g. "idle for 120 s", "closed by peer: shutting down"); empty otherwise.</param>
/// <param name="Time">When, on the manager's clock (UTC).</param>
public sealed record ConnectionEvent(ConnectionEventKind Kind, NodeId Peer, ConnectionPath Path, IPEndPoint Remote, string Reason, DateTimeOffset Time);
