using System.Diagnostics.Metrics;

namespace Overlay.Kademlia.Internal;

/// <summary>
/// Process-wide Kademlia instruments (meter "Overlay.Kademlia"), shared by every node in the process; tags are low
/// cardinality (reason, rpc type), never a peer ID or address.
/// </summary>
internal static class KademliaMetrics
{
    public static readonly Meter Meter = new("Overlay.Kademlia", "1.0");

    public static readonly Counter<long> DatagramsReceived =
        Meter.CreateCounter<long>("overlay.kademlia.datagrams.received", "{datagram}", "Datagrams delivered to Kademlia nodes");

    public static readonly Counter<long> DatagramsDropped =
        Meter.CreateCounter<long>("overlay.kademlia.datagrams.dropped", "{datagram}", "Datagrams dropped, tagged by reason");

    public static readonly Counter<long> RequestsServed =
        Meter.CreateCounter<long>("overlay.kademlia.requests.served", "{request}", "Requests answered, tagged by type");

    public static readonly Counter<long> RpcTimeouts =
        Meter.CreateCounter<long>("overlay.kademlia.rpc.timeouts", "{request}", "Requests that got no answer in time");

    public static readonly Histogram<double> LookupDuration =
        Meter.CreateHistogram<double>("overlay.kademlia.lookup.duration", "s", "Duration of iterative lookups");

    public static readonly Histogram<int> LookupMessages =
        Meter.CreateHistogram<int>("overlay.kademlia.lookup.messages", "{message}", "Requests sent per iterative lookup");
}
