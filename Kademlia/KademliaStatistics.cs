namespace Overlay.Kademlia;

/// <summary>A snapshot of a node's counters since start. Immutable.</summary>
/// <param name="DatagramsReceived">Datagrams delivered by the transport.</param>
/// <param name="DatagramsDropped">Datagrams dropped: malformed, wrong version, unknown body, unsolicited response, oversized, or requests over a rate limit (also counted in <see cref="RequestsRefused"/>).</param>
/// <param name="RequestsServed">Requests answered.</param>
/// <param name="ResponsesMatched">Responses that matched one of our pending requests. Every received datagram is counted once in exactly one of DatagramsDropped, RequestsServed and ResponsesMatched.</param>
/// <param name="RequestsSent">Requests sent (including retries).</param>
/// <param name="Timeouts">Requests that got no answer in time.</param>
/// <param name="RoutingTableSize">Contacts in the routing table now.</param>
/// <param name="RecordsStored">Records held for the DHT now.</param>
/// <param name="ProviderRecordsStored">Provider records held now.</param>
public sealed record KademliaStatistics(
    long DatagramsReceived,
    long DatagramsDropped,
    long RequestsServed,
    long ResponsesMatched,
    long RequestsSent,
    long Timeouts,
    int RoutingTableSize,
    int RecordsStored,
    int ProviderRecordsStored)
{
    /// <summary>Gets the requests dropped unanswered because their source or all sources together were over the rate limit (Kademlia:MaxRequestsPerSecondPerIp, MaxRequestsPerSecond); part of <see cref="DatagramsDropped"/>.</summary>
    public long RequestsRefused { get; init; }

    /// <summary>Gets the requests of ours not sent because the pending-request table was full (Kademlia:MaxPendingRequests).</summary>
    public long RpcRefused { get; init; }

    /// <summary>Gets the contacts kept out of the routing table by its diversity limits (one ID per endpoint, per-IP-group caps).</summary>
    public long DiversityRefusals { get; init; }

    /// <summary>Gets the requests of ours awaiting an answer now.</summary>
    public int PendingRequests { get; init; }

    /// <summary>Gets the identity proofs (PONGs to our challenges) that verified: the key hashes to the claimed ID and the signature holds.</summary>
    public long IdentityProofsAccepted { get; init; }

    /// <summary>Gets the identity proofs refused (a key that is not the claimed ID's, or a bad or replayed signature); their senders stay out of the routing table.</summary>
    public long IdentityProofsRejected { get; init; }

    /// <summary>Gets the PONGs to a challenge this node sent without a proof, its signature budget (Kademlia:MaxIdentityProofsPerSecond) being spent.</summary>
    public long PongsUnsigned { get; init; }

    /// <summary>Gets the answers trimmed (or left unsent) to stay within 3x the size of a request that echoed no valid address token (RFC 9000 §8.1).</summary>
    public long AnswersTrimmed { get; init; }
}
