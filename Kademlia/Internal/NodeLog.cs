using System.Net;
using Microsoft.Extensions.Logging;

namespace Overlay.Kademlia.Internal;

/// <summary>Source-generated log messages of a Kademlia node (EventIds 1020-1099).</summary>
internal static partial class NodeLog
{
    [LoggerMessage(EventId = 1020, Level = LogLevel.Information, Message = "Kademlia node {NodeId} listening on {Endpoint}")]
    public static partial void Started(ILogger logger, NodeId nodeId, IPEndPoint endpoint);

    [LoggerMessage(EventId = 1021, Level = LogLevel.Information, Message = "Bootstrap: {Reached} of {Total} contacts answered; routing table holds {Size} contacts")]
    public static partial void Bootstrapped(ILogger logger, int reached, int total, int size);

    [LoggerMessage(EventId = 1022, Level = LogLevel.Debug, Message = "Dropped datagram from {Endpoint}: {Reason}")]
    public static partial void Dropped(ILogger logger, IPEndPoint endpoint, string reason);

    [LoggerMessage(EventId = 1023, Level = LogLevel.Debug, Message = "Lookup of {Target} finished in {Elapsed} ms: {Messages} messages, {Rounds} rounds, {Found} closest")]
    public static partial void LookupFinished(ILogger logger, NodeId target, double elapsed, int messages, int rounds, int found);

    [LoggerMessage(EventId = 1024, Level = LogLevel.Debug, Message = "Stored {Key} on {Count} nodes")]
    public static partial void Stored(ILogger logger, NodeId key, int count);

    [LoggerMessage(EventId = 1025, Level = LogLevel.Warning, Message = "Maintenance task failed")]
    public static partial void MaintenanceFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 1026, Level = LogLevel.Debug, Message = "Refused {Operation} from {Endpoint}: {Status}")]
    public static partial void Refused(ILogger logger, string operation, IPEndPoint endpoint, string status);

    [LoggerMessage(EventId = 1027, Level = LogLevel.Warning, Message = "Published records and provided keys could not be read ({Reason}); starting with none")]
    public static partial void PublicationsUnreadable(ILogger logger, string reason);

    [LoggerMessage(EventId = 1028, Level = LogLevel.Warning, Message = "Published records and provided keys could not be saved ({Reason}); they are kept in memory")]
    public static partial void PublicationsUnwritable(ILogger logger, string reason);

    [LoggerMessage(EventId = 1029, Level = LogLevel.Information, Message = "Restored {Records} published records and {Keys} provided keys; announcing them once joined")]
    public static partial void PublicationsRestored(ILogger logger, int records, int keys);
}
