using System.Net;
using Microsoft.Extensions.Logging;

namespace Overlay.Transport.Connections.Internal;

/// <summary>Log messages of the connection manager, EventIds 1300-1319.</summary>
internal static partial class ConnectionLog
{
    [LoggerMessage(EventId = 1300, Level = LogLevel.Information, Message = "Connected to {Peer} at {Remote} over {Path} ({Direction}, handshake {HandshakeMs:F1} ms)")]
    public static partial void Connected(ILogger logger, string peer, IPEndPoint remote, ConnectionPath path, string direction, double handshakeMs);

    [LoggerMessage(EventId = 1301, Level = LogLevel.Information, Message = "Connection to {Peer} over {Path} moved to {Remote}")]
    public static partial void PathChanged(ILogger logger, string peer, ConnectionPath path, IPEndPoint remote);

    [LoggerMessage(EventId = 1302, Level = LogLevel.Information, Message = "Connection to {Peer} at {Remote} over {Path} lost: {Reason}")]
    public static partial void Lost(ILogger logger, string peer, IPEndPoint remote, ConnectionPath path, string reason);

    [LoggerMessage(EventId = 1303, Level = LogLevel.Information, Message = "Connection to {Peer} at {Remote} over {Path} closed: {Reason}")]
    public static partial void Closed(ILogger logger, string peer, IPEndPoint remote, ConnectionPath path, string reason);

    [LoggerMessage(EventId = 1304, Level = LogLevel.Debug, Message = "Refused an inbound {Path} session from {Peer} at {Remote}: {Reason}")]
    public static partial void Refused(ILogger logger, ConnectionPath path, string peer, IPEndPoint remote, string reason);

    [LoggerMessage(EventId = 1305, Level = LogLevel.Debug, Message = "Dial to {Peer} over {Path} failed: {Reason}")]
    public static partial void AttemptFailed(ILogger logger, string peer, ConnectionPath path, string reason);

    [LoggerMessage(EventId = 1306, Level = LogLevel.Debug, Message = "Reset a stream from {Peer}: {Reason}")]
    public static partial void StreamRefused(ILogger logger, string peer, string reason);

    [LoggerMessage(EventId = 1307, Level = LogLevel.Debug, Message = "Inbound TCP handshake from {Remote} failed: {Reason}")]
    public static partial void InboundHandshakeFailed(ILogger logger, IPEndPoint remote, string reason);

    [LoggerMessage(EventId = 1308, Level = LogLevel.Warning, Message = "Connection maintenance failed; continuing")]
    public static partial void MaintenanceFailed(ILogger logger, Exception exception);
}
