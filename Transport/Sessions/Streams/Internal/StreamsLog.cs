using Microsoft.Extensions.Logging;

namespace Overlay.Transport.Sessions.Streams.Internal;

/// <summary>Source-generated log messages of the stream multiplexer's connection loop (EventIds 1200-1209).</summary>
internal static partial class StreamsLog
{
    /// <summary>The connection closed (any cause); Debug.</summary>
    [LoggerMessage(EventId = 1200, Level = LogLevel.Debug, Message = "Stream connection closed: {CloseInfo}")]
    public static partial void Closed(ILogger logger, MuxCloseInfo closeInfo);

    /// <summary>A received payload broke the protocol and closed the connection; Debug (a peer can cause it at will).</summary>
    [LoggerMessage(EventId = 1201, Level = LogLevel.Debug, Message = "Peer broke the stream protocol ({Error}); closing the connection")]
    public static partial void ProtocolError(ILogger logger, StreamMuxError error);

    /// <summary>The packet link threw while sending or receiving; Debug.</summary>
    [LoggerMessage(EventId = 1202, Level = LogLevel.Debug, Message = "Packet link failed; closing the connection")]
    public static partial void LinkFailed(ILogger logger, Exception exception);

    /// <summary>The loop itself failed (a bug); Error.</summary>
    [LoggerMessage(EventId = 1203, Level = LogLevel.Error, Message = "Stream connection loop failed; the connection is closed")]
    public static partial void LoopFailed(ILogger logger, Exception exception);

    /// <summary>Disposal gave up waiting for the loop, sender or receiver; Warning.</summary>
    [LoggerMessage(EventId = 1204, Level = LogLevel.Warning, Message = "Stream connection did not stop within {Elapsed}; disposing the link anyway")]
    public static partial void StopTimedOut(ILogger logger, TimeSpan elapsed);
}
