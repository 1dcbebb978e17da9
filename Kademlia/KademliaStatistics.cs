namespace Overlay.Kademlia;

/// <summary>A snapshot of a node's counters since start. Immutable.</summary>
/// <param name="DatagramsReceived">Datagrams delivered by the transport.</param>
/// <param name="DatagramsDropped">Datagrams dropped: malformed, wrong version, unknown body, unsolicited response, or oversized.</param>
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
    int ProviderRecordsStored);
