using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace Overlay.Transport.Internal;

/// <summary>Source-generated log messages of the UDP transport and the stream listeners (EventIds 1000-1019).</summary>
internal static partial class TransportLog
{
    [LoggerMessage(EventId = 1000, Level = LogLevel.Debug, Message = "UDP send to {Endpoint} failed: {Error}")]
    public static partial void SendFailed(ILogger logger, IPEndPoint endpoint, SocketError error);

    [LoggerMessage(EventId = 1001, Level = LogLevel.Debug, Message = "UDP receive error {Error}; continuing")]
    public static partial void ReceiveFailed(ILogger logger, SocketError error);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Error, Message = "Datagram handler failed for a datagram from {Endpoint}")]
    public static partial void HandlerFailed(ILogger logger, IPEndPoint endpoint, Exception exception);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Information, Message = "recvmmsg/sendmmsg unavailable ({Reason}); receiving one datagram per call")]
    public static partial void BatchingUnavailable(ILogger logger, string reason);

    [LoggerMessage(EventId = 1004, Level = LogLevel.Information, Message = "UDP segmentation offload unavailable ({Reason}); sending one datagram per call")]
    public static partial void SegmentationUnavailable(ILogger logger, string reason);

    [LoggerMessage(EventId = 1010, Level = LogLevel.Debug, Message = "Accepting a connection on {Endpoint} failed: {Error}; still listening")]
    public static partial void AcceptFailed(ILogger logger, IPEndPoint endpoint, SocketError error);
}
