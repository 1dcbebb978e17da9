using System.Net;
using Microsoft.Extensions.Logging;

namespace Overlay.Transport.Sessions.Internal;

/// <summary>Source-generated log messages of <see cref="UdpSessionHost"/> (EventIds 1100-1109).</summary>
internal static partial class SessionHostLog
{
    /// <summary>A session was established; Debug.</summary>
    [LoggerMessage(EventId = 1100, Level = LogLevel.Debug, Message = "UDP session with {NodeId} at {Endpoint} established (initiator: {Initiator})")]
    public static partial void Established(ILogger logger, NodeId nodeId, IPEndPoint endpoint, bool initiator);

    /// <summary>A session ended; Debug.</summary>
    [LoggerMessage(EventId = 1101, Level = LogLevel.Debug, Message = "UDP session with {NodeId} at {Endpoint} ended: {Reason}")]
    public static partial void Closed(ILogger logger, NodeId nodeId, IPEndPoint endpoint, SessionCloseReason reason);

    /// <summary>A handshake this side started ended without a session; Debug.</summary>
    [LoggerMessage(EventId = 1102, Level = LogLevel.Debug, Message = "UDP session handshake with {Endpoint} ended: {Reason}")]
    public static partial void HandshakeEnded(ILogger logger, IPEndPoint endpoint, SessionCloseReason reason);

    /// <summary>An inbound session was closed because the accept queue was full; Warning.</summary>
    [LoggerMessage(EventId = 1103, Level = LogLevel.Warning, Message = "UDP session with {NodeId} at {Endpoint} closed: the accept queue is full")]
    public static partial void AcceptQueueFull(ILogger logger, NodeId nodeId, IPEndPoint endpoint);
}
