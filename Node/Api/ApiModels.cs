namespace Overlay.Node.Api;

// The JSON shapes of the local API (System.Text.Json web defaults: camelCase names). Shared by the daemon, which
// writes them, and the CLI, which reads them. Durations are milliseconds (…Ms) or seconds (…Seconds); instants are
// ISO 8601 with offset; byte strings are base64; IDs and keys are 64 lowercase hexadecimal characters.

/// <summary>The body of every error response: <c>{ "error": "...", "code": "..." }</c>.</summary>
/// <param name="Error">One line for the user.</param>
/// <param name="Code">The code from <see cref="ApiErrors.Code"/>, e.g. <c>not_found</c>.</param>
internal sealed record ErrorResponse(string Error, string Code);

/// <summary>GET /api/v0/id.</summary>
/// <param name="Id">The node ID.</param>
/// <param name="PublicKey">The 32-byte Ed25519 public key, base64.</param>
/// <param name="Endpoint">The UDP endpoint of the DHT (the block exchange listens on TCP at the same address and port).</param>
/// <param name="ApiUrl">The API URL, e.g. <c>http://127.0.0.1:5001</c>.</param>
internal sealed record IdResponse(string Id, string PublicKey, string Endpoint, string? ApiUrl);

/// <summary>GET /api/v0/status: counters since start.</summary>
/// <param name="Id">The node ID.</param>
/// <param name="Endpoint">The UDP endpoint.</param>
/// <param name="UptimeSeconds">Seconds since the node started.</param>
/// <param name="RoutingTableSize">Contacts in the routing table.</param>
/// <param name="RecordsStored">DHT records held for the network.</param>
/// <param name="ProviderRecordsStored">Provider records held for the network.</param>
/// <param name="Blocks">Blocks in the local store.</param>
/// <param name="BlockBytes">Bytes of the blocks in the local store.</param>
/// <param name="DatagramsReceived">Datagrams received.</param>
/// <param name="DatagramsDropped">Datagrams dropped (malformed, unsolicited, oversized).</param>
/// <param name="RequestsServed">DHT requests answered.</param>
/// <param name="RequestsSent">DHT requests sent, retries included.</param>
/// <param name="Timeouts">DHT requests that got no answer in time.</param>
internal sealed record StatusResponse(
    string Id,
    string Endpoint,
    double UptimeSeconds,
    int RoutingTableSize,
    int RecordsStored,
    int ProviderRecordsStored,
    long Blocks,
    long BlockBytes,
    long DatagramsReceived,
    long DatagramsDropped,
    long RequestsServed,
    long RequestsSent,
    long Timeouts);

/// <summary>A node: its ID and UDP endpoint.</summary>
/// <param name="Id">The node ID.</param>
/// <param name="Endpoint">The UDP endpoint.</param>
internal sealed record ContactResponse(string Id, string Endpoint);

/// <summary>GET /api/v0/peers: the routing table's contacts.</summary>
/// <param name="Contacts">Every contact in the routing table, in the table's order.</param>
internal sealed record PeersResponse(IReadOnlyList<ContactResponse> Contacts);

/// <summary>POST /api/v0/ping: an answered PING (an unanswered one is a <c>not_found</c> error).</summary>
/// <param name="Endpoint">The endpoint pinged.</param>
/// <param name="Success">Always true in a 200 response.</param>
/// <param name="Id">The responder's node ID.</param>
/// <param name="RoundTripMs">Round-trip time of the answered attempt, milliseconds.</param>
/// <param name="ObservedEndpoint">Our address as the responder saw it, or null.</param>
internal sealed record PingResponse(string Endpoint, bool Success, string? Id, double RoundTripMs, string? ObservedEndpoint);

/// <summary>A node found by a lookup.</summary>
/// <param name="Id">The node ID.</param>
/// <param name="Endpoint">The UDP endpoint.</param>
/// <param name="Distance">XOR distance to the target, 64 hexadecimal characters.</param>
internal sealed record ClosestResponse(string Id, string Endpoint, string Distance);

/// <summary>GET /api/v0/dht/find-node/{id}.</summary>
/// <param name="Target">The ID looked up.</param>
/// <param name="Closest">At most k nodes that answered, ascending XOR distance to the target.</param>
/// <param name="Rounds">Longest chain of sequential queries.</param>
/// <param name="Messages">Requests sent by the lookup.</param>
/// <param name="Failures">Queries that timed out.</param>
/// <param name="ElapsedMs">Duration, milliseconds.</param>
internal sealed record FindNodeResponse(string Target, IReadOnlyList<ClosestResponse> Closest, int Rounds, int Messages, int Failures, double ElapsedMs);

/// <summary>The body of POST /api/v0/dht/put. Exactly one of <see cref="Value"/> and <see cref="ValueBase64"/> is set.</summary>
internal sealed class PutRequest
{
    /// <summary>Gets or sets the value as text, stored as its UTF-8 bytes (at most 1000 bytes).</summary>
    public string? Value { get; set; }

    /// <summary>Gets or sets the value as base64 bytes (at most 1000 bytes decoded).</summary>
    public string? ValueBase64 { get; set; }

    /// <summary>Gets or sets whether to store a signed mutable record keyed by our public key and the salt. Default false (immutable, keyed by the value's hash).</summary>
    public bool Mutable { get; set; }

    /// <summary>Gets or sets the salt of a mutable record as text (UTF-8, at most 64 bytes). Default none.</summary>
    public string? Salt { get; set; }

    /// <summary>Gets or sets the sequence number of a mutable record, ≥ 0; a higher one replaces a lower one. Default 0.</summary>
    public long? Sequence { get; set; }
}

/// <summary>POST /api/v0/dht/put.</summary>
/// <param name="Key">The key the record is stored under.</param>
/// <param name="StoredOn">Nodes that accepted it.</param>
/// <param name="Refusals">Nodes that refused it.</param>
/// <param name="Sequence">The sequence number of a mutable record (the one given, or the next after the highest found); null for an immutable record.</param>
/// <param name="RefusalsByReason">Refusals by reason code (bad_token, bad_signature, stale_sequence, invalid, full, other); counts sum to <paramref name="Refusals"/>; empty when none.</param>
internal sealed record PutResponse(string Key, int StoredOn, int Refusals, long? Sequence, IReadOnlyDictionary<string, int> RefusalsByReason);

/// <summary>GET /api/v0/dht/get/{key}.</summary>
/// <param name="Key">The key.</param>
/// <param name="Value">The value as text when it is valid UTF-8, else null.</param>
/// <param name="ValueBase64">The value, base64.</param>
/// <param name="Mutable">Whether it is a signed mutable record.</param>
/// <param name="Sequence">The sequence number (0 for immutable records).</param>
/// <param name="PublicKey">The publisher's public key, base64, for a mutable record; else null.</param>
/// <param name="Expires">When the record stops being served.</param>
internal sealed record RecordResponse(string Key, string? Value, string ValueBase64, bool Mutable, long Sequence, string? PublicKey, DateTimeOffset Expires);

/// <summary>A provider of some content.</summary>
/// <param name="Id">The provider's node ID.</param>
/// <param name="Endpoint">Its endpoint (UDP for the DHT, TCP on the same port for blocks).</param>
/// <param name="Expires">When the provider record expires unless re-announced.</param>
internal sealed record ProviderResponse(string Id, string Endpoint, DateTimeOffset Expires);

/// <summary>GET /api/v0/dht/providers/{cid}.</summary>
/// <param name="Cid">The CID.</param>
/// <param name="Key">The DHT key of the CID (SHA-256 of its multihash).</param>
/// <param name="Providers">Distinct providers found; may be empty.</param>
internal sealed record ProvidersResponse(string Cid, string Key, IReadOnlyList<ProviderResponse> Providers);

/// <summary>POST /api/v0/add.</summary>
/// <param name="Cid">The root CID of the added file.</param>
/// <param name="Bytes">File bytes read.</param>
/// <param name="Blocks">Blocks written.</param>
/// <param name="ProvidedOn">Nodes that accepted the provider record.</param>
/// <param name="ElapsedMs">Duration of import and announcement, milliseconds.</param>
internal sealed record AddResponse(string Cid, long Bytes, int Blocks, int ProvidedOn, double ElapsedMs);

/// <summary>POST /api/v0/fetch/{cid}: the DAG is now complete in the local store.</summary>
/// <param name="Cid">The root CID.</param>
/// <param name="Blocks">Blocks fetched (0 when everything was local already).</param>
/// <param name="Bytes">Block bytes fetched.</param>
/// <param name="Providers">Providers asked (our own record excluded).</param>
/// <param name="BadBlocks">Blocks that failed verification and were asked again.</param>
/// <param name="ProvidersDropped">Providers dropped for failures.</param>
/// <param name="ElapsedMs">Duration, milliseconds.</param>
/// <param name="Size">The file's size, bytes.</param>
internal sealed record FetchResponse(string Cid, int Blocks, long Bytes, int Providers, int BadBlocks, int ProvidersDropped, double ElapsedMs, long Size);

/// <summary>GET /api/v0/cat/{cid}/status: why the last <c>cat</c> stream of a root broke after it started, if it did.</summary>
/// <param name="Cid">The root CID.</param>
/// <param name="Failure">One line for the user (e.g. a block found corrupt and quarantined), or null when the last stream did not break or is forgotten.</param>
internal sealed record CatStatusResponse(string Cid, string? Failure);

/// <summary>One session with a peer, as GET connections lists it.</summary>
/// <param name="Peer">The peer's node ID (64 hex), proven in the handshake.</param>
/// <param name="Path"><c>udp</c> or <c>tcp</c>.</param>
/// <param name="Remote">The peer's current address and port.</param>
/// <param name="Direction"><c>outbound</c> (this node dialled) or <c>inbound</c>.</param>
/// <param name="RttMs">Smoothed round-trip time, ms (RFC 9002 §5.3); null where the path takes no samples (TCP: its
/// kernel does the recovery).</param>
/// <param name="BytesSent">Payload bytes sent.</param>
/// <param name="BytesReceived">Payload bytes received.</param>
/// <param name="Streams">Streams open now.</param>
/// <param name="AgeSeconds">Seconds since the session was established.</param>
/// <param name="HandshakeMs">How long the handshake took, ms.</param>
internal sealed record ConnectionResponse(string Peer, string Path, string Remote, string Direction, double? RttMs, long BytesSent, long BytesReceived, int Streams, double AgeSeconds, double HandshakeMs);

/// <summary>The answer of GET connections.</summary>
/// <param name="Connections">Every live session, oldest first.</param>
internal sealed record ConnectionsResponse(IReadOnlyList<ConnectionResponse> Connections);

/// <summary>The answer of POST connect.</summary>
/// <param name="Connection">The session.</param>
/// <param name="Reused">Whether it already existed.</param>
/// <param name="ElapsedMs">Time from the request to the session (DHT lookup of an ID included), ms.</param>
internal sealed record ConnectResponse(ConnectionResponse Connection, bool Reused, double ElapsedMs);

/// <summary>One message of the GET events WebSocket.</summary>
/// <param name="Kind"><c>connected</c>, <c>pathchanged</c>, <c>lost</c> or <c>closed</c>.</param>
/// <param name="Peer">The peer's node ID.</param>
/// <param name="Path"><c>udp</c> or <c>tcp</c>.</param>
/// <param name="Remote">The peer's address and port (the new one for <c>pathchanged</c>).</param>
/// <param name="Reason">Why, for lost and closed; empty otherwise.</param>
/// <param name="Time">When (UTC).</param>
internal sealed record EventMessage(string Kind, string Peer, string Path, string Remote, string Reason, DateTimeOffset Time);
