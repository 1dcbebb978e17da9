using System.Net;
using Microsoft.Extensions.Logging;

namespace Overlay.Exchange.Internal;

/// <summary>
/// Source-generated log messages for Exchange; EventIds 3000-3099 (server 3000-3009, fetcher 3010-3019). Per-connection
/// server messages are Debug: a connection flood must not flood the log; 3006 summarises refusals at most once a minute.
/// </summary>
internal static partial class ExchangeLog
{
    [LoggerMessage(EventId = 3000, Level = LogLevel.Information, Message = "Block exchange listening on {Endpoint}")]
    public static partial void Listening(ILogger logger, EndPoint? endpoint);

    [LoggerMessage(EventId = 3001, Level = LogLevel.Debug, Message = "Connection from {Endpoint} refused on accept: {Reason}")]
    public static partial void ConnectionRefused(ILogger logger, EndPoint? endpoint, string reason);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Debug, Message = "Closing connection from {Endpoint}: {Reason}")]
    public static partial void ConnectionCut(ILogger logger, string endpoint, string reason);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Debug, Message = "Connection from {Endpoint} ended: {Reason}")]
    public static partial void ConnectionEnded(ILogger logger, string endpoint, string reason);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Warning, Message = "Reading block {Cid} for {Endpoint} failed")]
    public static partial void StoreReadFailed(ILogger logger, string cid, string endpoint, Exception exception);

    [LoggerMessage(EventId = 3006, Level = LogLevel.Warning, Message = "Block exchange refused or cut {Count} connections in the last {Elapsed} ({Reasons}); {Open} open")]
    public static partial void RefusalSummary(ILogger logger, long count, TimeSpan elapsed, string reasons, int open);

    [LoggerMessage(EventId = 3010, Level = LogLevel.Information, Message = "Fetching DAG {Cid} from {ProviderCount} providers")]
    public static partial void FetchStarted(ILogger logger, string cid, int providerCount);

    [LoggerMessage(EventId = 3011, Level = LogLevel.Information, Message = "Fetched DAG {Cid}: {Blocks} blocks, {Bytes} bytes in {Elapsed}")]
    public static partial void FetchCompleted(ILogger logger, string cid, int blocks, long bytes, TimeSpan elapsed);

    [LoggerMessage(EventId = 3012, Level = LogLevel.Warning, Message = "Provider {Endpoint} dropped: {Reason}")]
    public static partial void ProviderDropped(ILogger logger, IPEndPoint endpoint, string reason);

    [LoggerMessage(EventId = 3013, Level = LogLevel.Warning, Message = "Provider {Endpoint} sent a bad block for {Cid}")]
    public static partial void BadBlock(ILogger logger, IPEndPoint endpoint, string cid);

    [LoggerMessage(EventId = 3014, Level = LogLevel.Debug, Message = "Provider {Endpoint} does not have {Cid}")]
    public static partial void NotFound(ILogger logger, IPEndPoint endpoint, string cid);

    [LoggerMessage(EventId = 3015, Level = LogLevel.Warning, Message = "Fetch of DAG {Cid} failed after {Elapsed}")]
    public static partial void FetchFailed(ILogger logger, string cid, TimeSpan elapsed, Exception exception);

    [LoggerMessage(EventId = 3016, Level = LogLevel.Debug, Message = "Provider {Endpoint} answered unknown request {RequestId}")]
    public static partial void UnknownResponse(ILogger logger, IPEndPoint endpoint, ulong requestId);
}
