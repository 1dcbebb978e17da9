using System.Net;
using Overlay.Transport.Sessions.Streams;

namespace Overlay.Transport.Connections;

/// <summary>
/// A secure session that a path (UDP or TCP) has just established, handed to the <see cref="ConnectionManager"/>, which
/// runs a <see cref="StreamMuxConnection"/> on it. The peer's node ID is proven by the handshake.
/// </summary>
/// <param name="Link">The session's packet link; the manager owns it from then on.</param>
/// <param name="Path">What carries it.</param>
/// <param name="RemoteId">The peer's node ID, proven in the handshake.</param>
/// <param name="Remote">The peer's address and port when the handshake completed.</param>
/// <param name="IsInitiator">True when this node dialled.</param>
/// <param name="MuxOptions">Options of the stream multiplexer for this path (reliable-path options on TCP).</param>
/// <param name="HandshakeTime">From the first handshake packet sent (initiator) or received (responder) to the session.</param>
/// <param name="CurrentRemote">Reads the peer's current address when it can change (a UDP session follows an
/// authenticated peer that roams, WireGuard's rule); null when it cannot (TCP).</param>
public sealed record EstablishedLink(
    IPacketLink Link,
    ConnectionPath Path,
    NodeId RemoteId,
    IPEndPoint Remote,
    bool IsInitiator,
    StreamMuxOptions MuxOptions,
    TimeSpan HandshakeTime,
    Func<IPEndPoint>? CurrentRemote = null);
