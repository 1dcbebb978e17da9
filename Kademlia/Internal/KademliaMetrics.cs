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

    public static readonly Counter<long> RequestsRefused =
        Meter.CreateCounter<long>("overlay.kademlia.requests.refused", "{request}", "Requests dropped unanswered over a rate limit, tagged by reason (rate-source, rate-global)");

    public static readonly Counter<long> VerificationsRefused =
        Meter.CreateCounter<long>("overlay.kademlia.verifications.refused", "{request}", "Verification PINGs not sent, tagged by reason (rate: the destination was over its per-minute limit; amplification: 3x the request that prompted it would be exceeded)");

    public static readonly Counter<long> IdentityProofs =
        Meter.CreateCounter<long>("overlay.kademlia.identity_proofs", "{proof}", "Identity proofs in PONGs checked, tagged by outcome (accepted, rejected)");

    public static readonly Counter<long> PongsUnsigned =
        Meter.CreateCounter<long>("overlay.kademlia.pongs.unsigned", "{response}", "PONGs to a challenge sent without a proof (signature budget spent, or no room within 3x the PING)");

    public static readonly Counter<long> RpcRefused =
        Meter.CreateCounter<long>("overlay.kademlia.rpc.refused", "{request}", "Requests of ours not sent because the pending-request table was full");

    public static readonly Counter<long> DiversityRefusals =
        Meter.CreateCounter<long>("overlay.kademlia.routing.diversity_refused", "{contact}", "Contacts kept out of the routing table by its diversity limits");

    public static readonly Histogram<double> LookupDuration =
        Meter.CreateHistogram<double>("overlay.kademlia.lookup.duration", "s", "Duration of iterative lookups");

    public static readonly Histogram<int> LookupMessages =
        Meter.CreateHistogram<int>("overlay.kademlia.lookup.messages", "{message}", "Requests sent per iterative lookup");
}
