using System.Net;
using Microsoft.Extensions.Logging;

namespace Overlay.Node;

/// <summary>Source-generated log messages of the Node assembly: EventIds 5000..5099, house placeholder names.</summary>
internal static partial class NodeLog
{
    [LoggerMessage(EventId = 5000, Level = LogLevel.Information, Message = "node {NodeId} listening on {Endpoint}, api {ApiUrl}, data {DataDir}")]
    public static partial void Listening(ILogger logger, string nodeId, IPEndPoint endpoint, string apiUrl, string dataDir);

    [LoggerMessage(EventId = 5001, Level = LogLevel.Information, Message = "bootstrap reached {Reached} of {Contacts} contacts; routing table holds {RoutingTableSize} in {Elapsed}")]
    public static partial void Bootstrapped(ILogger logger, int reached, int contacts, int routingTableSize, TimeSpan elapsed);

    [LoggerMessage(EventId = 5002, Level = LogLevel.Warning, Message = "bootstrap attempt {Attempt}: none of {Contacts} contacts answered; retrying in {Delay} (and for as long as the routing table is empty)")]
    public static partial void BootstrapRetry(ILogger logger, int attempt, int contacts, TimeSpan delay);

    [LoggerMessage(EventId = 5003, Level = LogLevel.Warning, Message = "could not save the peer cache {Path}: {Reason}")]
    public static partial void PeerCacheFailed(ILogger logger, string path, string reason);

    [LoggerMessage(EventId = 5004, Level = LogLevel.Information, Message = "no bootstrap contacts configured: this node is the first of its swarm")]
    public static partial void NoBootstrap(ILogger logger);

    [LoggerMessage(EventId = 5005, Level = LogLevel.Warning, Message = "bootstrap contact {Contact} does not resolve: {Reason}")]
    public static partial void BootstrapUnresolved(ILogger logger, string contact, string reason);

    [LoggerMessage(EventId = 5010, Level = LogLevel.Information, Message = "added {Cid}: {Bytes} bytes in {Blocks} blocks, provided on {StoredOn} nodes in {Elapsed}")]
    public static partial void Added(ILogger logger, string cid, long bytes, int blocks, int storedOn, TimeSpan elapsed);

    [LoggerMessage(EventId = 5011, Level = LogLevel.Information, Message = "fetched {Cid}: {Blocks} blocks, {Bytes} bytes from {Providers} providers in {Elapsed} ({BadBlocks} bad blocks, {Dropped} providers dropped)")]
    public static partial void Fetched(ILogger logger, string cid, int blocks, long bytes, int providers, TimeSpan elapsed, int badBlocks, int dropped);

    [LoggerMessage(EventId = 5012, Level = LogLevel.Warning, Message = "no providers found for {Cid} (asked {Asked} nodes in {Elapsed})")]
    public static partial void NoProviders(ILogger logger, string cid, int asked, TimeSpan elapsed);

    [LoggerMessage(EventId = 5013, Level = LogLevel.Warning, Message = "fetching {Cid} failed after {Elapsed}: {Reason}")]
    public static partial void FetchFailed(ILogger logger, string cid, TimeSpan elapsed, string reason);

    [LoggerMessage(EventId = 5014, Level = LogLevel.Information, Message = "now providing {Cid} (stored on {StoredOn} nodes)")]
    public static partial void Providing(ILogger logger, string cid, int storedOn);

    [LoggerMessage(EventId = 5020, Level = LogLevel.Error, Message = "API request {Method} {Path} failed")]
    public static partial void ApiFailed(ILogger logger, Exception exception, string method, string path);

    [LoggerMessage(EventId = 5021, Level = LogLevel.Warning, Message = "API response {Method} {Path} aborted after it started: {Reason}")]
    public static partial void ApiAborted(ILogger logger, string method, string path, string reason);

    [LoggerMessage(EventId = 5022, Level = LogLevel.Debug, Message = "API request {Method} {Path} refused ({Reason}): {Detail}")]
    public static partial void ApiRefused(ILogger logger, string method, string path, string reason, string detail);

    [LoggerMessage(EventId = 5023, Level = LogLevel.Debug, Message = "start-up failed (the one-line error is on stderr)")]
    public static partial void StartFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 5030, Level = LogLevel.Information, Message = "node {NodeId} stopping")]
    public static partial void Stopping(ILogger logger, string nodeId);

    [LoggerMessage(EventId = 5031, Level = LogLevel.Warning, Message = "could not write or remove the api file {Path}: {Reason}")]
    public static partial void ApiFileFailed(ILogger logger, string path, string reason);
}
