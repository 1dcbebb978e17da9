namespace Overlay.Kademlia;

/// <summary>
/// Network-wide and per-node Kademlia parameters, bound from the <c>Kademlia</c> section of node.config.json, then
/// <c>OVERLAY__Kademlia__Key</c>, then flags. Validated as a set by <see cref="Validate"/>. Not thread-safe to mutate;
/// treat as immutable once a node has started.
/// </summary>
public sealed class KademliaOptions
{
    /// <summary>Default k: contacts per k-bucket and replication factor (paper §2.2; BEP 5 uses 8, libp2p 20).</summary>
    public const int DefaultBucketSize = 20;

    /// <summary>Default alpha: concurrent RPCs per lookup (paper §2.3; libp2p amino uses 3... 10, we use 3).</summary>
    public const int DefaultAlpha = 3;

    /// <summary>Largest datagram sent or accepted, bytes: <see cref="IMessageTransport.MaxDatagramBytes"/> (1232), so nothing fragments.</summary>
    public const int MaxDatagramBytes = IMessageTransport.MaxDatagramBytes;

    /// <summary>Largest record value, bytes (BEP 44 §"Messages": v is at most 1000 bytes).</summary>
    public const int DefaultMaxValueBytes = 1000;

    /// <summary>Default <see cref="MaxRequestsPerSecondPerIp"/>: 1,024 requests/s (OpenDHT's per-IP rate limit).</summary>
    public const int DefaultMaxRequestsPerSecondPerIp = 1_024;

    /// <summary>Default <see cref="MaxRequestsPerSecond"/>: 8,192 requests/s (OpenDHT's global rate limit).</summary>
    public const int DefaultMaxRequestsPerSecond = 8_192;

    /// <summary>Gets or sets k, the k-bucket size and replication factor. Default 20; range 1..64.</summary>
    public int BucketSize { get; set; } = DefaultBucketSize;

    /// <summary>Gets or sets alpha, the lookup concurrency. Default 3; range 1..BucketSize.</summary>
    public int Alpha { get; set; } = DefaultAlpha;

    /// <summary>Gets or sets the RPC timeout used before any round trip was measured. Default 1 s (ARCHITECTURE.md); range 10 ms..60 s.</summary>
    public TimeSpan RpcTimeoutInitial { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Gets or sets the floor of the adaptive RPC timeout (SRTT + 4·RTTVAR, RFC 6298 §2). Default 100 ms; range 1 ms..RpcTimeoutMax.</summary>
    public TimeSpan RpcTimeoutMin { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Gets or sets the ceiling of the adaptive RPC timeout. Default 5 s; range RpcTimeoutMin..120 s.</summary>
    public TimeSpan RpcTimeoutMax { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Gets or sets how many times a request (every RPC, lookup queries included) is re-sent, under the same transaction id, when unanswered after the adaptive timeout; copies go one timeout apart, so the request fails after (1 + RpcRetries) timeouts. Default 2: with 5 % loss each way a live peer then fails one query in about 1,000 instead of 1 in 100. Range 0..5.</summary>
    public int RpcRetries { get; set; } = 2;

    /// <summary>Gets or sets how long a record lives on the nodes that store it unless republished. Default 48 h (libp2p amino provide validity); range 1 s..7 d.</summary>
    public TimeSpan RecordTtl { get; set; } = TimeSpan.FromHours(48);

    /// <summary>Gets or sets how often the publisher re-stores its own records and provider records on the current k closest nodes. Default 22 h (libp2p amino reprovide interval); range 1 s..RecordTtl.</summary>
    public TimeSpan RepublishInterval { get; set; } = TimeSpan.FromHours(22);

    /// <summary>Gets or sets how often a node re-stores the records it holds on the current k closest nodes, so they survive churn (paper §2.5: hourly). Default 1 h; range 1 s..RecordTtl.</summary>
    public TimeSpan ReplicationInterval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Gets or sets how long a k-bucket may go without a lookup in its range before it is refreshed with a lookup of a random ID in it (paper §2.3). Default 1 h; range 1 s..7 d.</summary>
    public TimeSpan BucketRefreshInterval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// Gets or sets how often a node looks up its own ID, so that nodes that joined near it since its last lookup learn
    /// of it (go-libp2p-kad-dht looks itself up on every routing-table refresh, every 10 min). Without it a node that
    /// joined while the swarm was small stays unknown to its later neighbours until its hourly bucket refresh.
    /// Default 10 min; range 1 s..7 d.
    /// </summary>
    public TimeSpan SelfLookupInterval { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Gets or sets the period of the maintenance tick (expiry, refresh, republish, replication checks). Default 1 min; range 10 ms..1 h.</summary>
    public TimeSpan MaintenanceInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Gets or sets the largest accepted record value, bytes. Default 1000 (BEP 44); range 1..1000.</summary>
    public int MaxValueBytes { get; set; } = DefaultMaxValueBytes;

    /// <summary>Gets or sets the most records one node stores for others; past it, new keys are refused. Default 65,536; range 1..10,000,000.</summary>
    public int MaxRecords { get; set; } = 65_536;

    /// <summary>Gets or sets the most provider records kept per key. Default 64; range 1..1,024.</summary>
    public int MaxProvidersPerKey { get; set; } = 64;

    /// <summary>Gets or sets the most keys with provider records kept in all. Default 65,536; range 1..10,000,000.</summary>
    public int MaxProviderKeys { get; set; } = 65_536;

    /// <summary>Gets or sets the most requests from unknown senders verified by a PING at once before they may enter the routing table. Default 64; range 0..4,096.</summary>
    public int MaxPendingVerifications { get; set; } = 64;

    /// <summary>
    /// Gets or sets the most requests per second answered for one source: an IP address, or for loopback sources an
    /// IP address and port (a local swarm shares 127.0.0.1). Requests past it are dropped unanswered and counted
    /// (<c>overlay.kademlia.requests.refused</c>, reason <c>rate-source</c>); a source may burst to one second's worth.
    /// Default 1,024 (OpenDHT's per-IP limit); 0 = no limit; range 0..10,000,000.
    /// </summary>
    public int MaxRequestsPerSecondPerIp { get; set; } = DefaultMaxRequestsPerSecondPerIp;

    /// <summary>
    /// Gets or sets the most requests per second answered from all sources together; past it requests are dropped and
    /// counted (reason <c>rate-global</c>). Default 8,192 (OpenDHT's global limit); 0 = no limit; range 0..10,000,000.
    /// </summary>
    public int MaxRequestsPerSecond { get; set; } = DefaultMaxRequestsPerSecond;

    /// <summary>
    /// Gets or sets the most verification PINGs per minute sent to one source (keyed like
    /// <see cref="MaxRequestsPerSecondPerIp"/>). Each request from an unknown node ID triggers a PING to the request's
    /// source address, which a spoofer chooses; this caps what a flood of fresh IDs makes us send to one victim at
    /// this many PINGs (each re-sent per <see cref="RpcRetries"/>) a minute. Default 8 (a host runs one node, a NAT a
    /// few, and each ID is verified at most once per 10 min); 0 = no limit; range 0..100,000.
    /// </summary>
    public int MaxVerificationsPerMinutePerIp { get; set; } = 8;

    /// <summary>
    /// Gets or sets the most identity proofs (Ed25519 signatures in PONGs, ARCHITECTURE.md "Identity proofs") this node
    /// signs per second in all; it may burst to one second's worth. Past it PONGs go unsigned and the verifier asks
    /// again later, so a flood of challenge PINGs costs at most this many signatures a second (~16 µs each here, so
    /// under 2 % of a core at the default). Per source, PINGs count against <see cref="MaxRequestsPerSecondPerIp"/> like any
    /// request. Default 1,000 (a node's table holds ~250 contacts, each proven about once per <c>ProvenIdentities.Lifetime</c>
    /// to each of its verifiers; joins of 256 nodes at once stayed far below it in simulation); range 1..1,000,000.
    /// </summary>
    public int MaxIdentityProofsPerSecond { get; set; } = 1_000;

    /// <summary>
    /// Gets or sets the most requests of ours awaiting an answer at once (the pending-request table); a request past
    /// it fails at once without being sent and is counted (<c>overlay.kademlia.rpc.refused</c>); a lookup then
    /// treats that peer as not answering for this lookup only. Default 4,096; range 16..1,000,000.
    /// </summary>
    public int MaxPendingRequests { get; set; } = 4_096;

    /// <summary>
    /// Gets or sets the most contacts from one public IP group (/24 for IPv4, /48 for IPv6) in one k-bucket.
    /// Default 2 (go-libp2p-kad-dht's diversity filter allows 2 per common-prefix length); 0 = no limit; range 0..64.
    /// </summary>
    public int MaxContactsPerIpGroupPerBucket { get; set; } = 2;

    /// <summary>
    /// Gets or sets the most contacts from one public IP group in the whole routing table. Default 3 (go-libp2p-kad-dht's
    /// diversity filter allows 3 per table); 0 = no limit; range 0..16,384.
    /// </summary>
    public int MaxContactsPerIpGroupPerTable { get; set; } = 3;

    /// <summary>
    /// Gets or sets the most contacts from one local IP group (loopback, private, link-local ranges) in one k-bucket:
    /// a local swarm runs many nodes on one address. Default 0 = no limit; range 0..64.
    /// </summary>
    public int MaxLocalContactsPerIpGroupPerBucket { get; set; }

    /// <summary>Gets or sets the most contacts from one local IP group in the whole routing table. Default 0 = no limit; range 0..16,384.</summary>
    public int MaxLocalContactsPerIpGroupPerTable { get; set; }

    /// <summary>Gets or sets the UDP socket receive buffer (SO_RCVBUF), bytes; the .NET default overflows under bursts. Default 4 MiB; range 64 KiB..256 MiB.</summary>
    public int ReceiveBufferBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>
    /// Checks every option and the relations between them.
    /// </summary>
    /// <returns>One message per bad option, naming section, key, value and the allowed range; empty when valid.</returns>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        Check(errors, nameof(BucketSize), BucketSize, 1, 64);
        Check(errors, nameof(Alpha), Alpha, 1, Math.Max(1, BucketSize));
        Check(errors, nameof(RpcTimeoutInitial), RpcTimeoutInitial, TimeSpan.FromMilliseconds(10), TimeSpan.FromSeconds(60));
        Check(errors, nameof(RpcTimeoutMin), RpcTimeoutMin, TimeSpan.FromMilliseconds(1), RpcTimeoutMax);
        Check(errors, nameof(RpcTimeoutMax), RpcTimeoutMax, RpcTimeoutMin, TimeSpan.FromSeconds(120));
        Check(errors, nameof(RpcRetries), RpcRetries, 0, 5);
        Check(errors, nameof(RecordTtl), RecordTtl, TimeSpan.FromSeconds(1), TimeSpan.FromDays(7));
        Check(errors, nameof(RepublishInterval), RepublishInterval, TimeSpan.FromSeconds(1), RecordTtl);
        Check(errors, nameof(ReplicationInterval), ReplicationInterval, TimeSpan.FromSeconds(1), RecordTtl);
        Check(errors, nameof(BucketRefreshInterval), BucketRefreshInterval, TimeSpan.FromSeconds(1), TimeSpan.FromDays(7));
        Check(errors, nameof(SelfLookupInterval), SelfLookupInterval, TimeSpan.FromSeconds(1), TimeSpan.FromDays(7));
        Check(errors, nameof(MaintenanceInterval), MaintenanceInterval, TimeSpan.FromMilliseconds(10), TimeSpan.FromHours(1));
        Check(errors, nameof(MaxValueBytes), MaxValueBytes, 1, DefaultMaxValueBytes);
        Check(errors, nameof(MaxRecords), MaxRecords, 1, 10_000_000);
        Check(errors, nameof(MaxProvidersPerKey), MaxProvidersPerKey, 1, 1_024);
        Check(errors, nameof(MaxProviderKeys), MaxProviderKeys, 1, 10_000_000);
        Check(errors, nameof(MaxPendingVerifications), MaxPendingVerifications, 0, 4_096);
        Check(errors, nameof(MaxRequestsPerSecondPerIp), MaxRequestsPerSecondPerIp, 0, 10_000_000);
        Check(errors, nameof(MaxRequestsPerSecond), MaxRequestsPerSecond, 0, 10_000_000);
        Check(errors, nameof(MaxVerificationsPerMinutePerIp), MaxVerificationsPerMinutePerIp, 0, 100_000);
        Check(errors, nameof(MaxPendingRequests), MaxPendingRequests, 16, 1_000_000);
        Check(errors, nameof(MaxIdentityProofsPerSecond), MaxIdentityProofsPerSecond, 1, 1_000_000);
        Check(errors, nameof(MaxContactsPerIpGroupPerBucket), MaxContactsPerIpGroupPerBucket, 0, 64);
        Check(errors, nameof(MaxContactsPerIpGroupPerTable), MaxContactsPerIpGroupPerTable, 0, 16_384);
        Check(errors, nameof(MaxLocalContactsPerIpGroupPerBucket), MaxLocalContactsPerIpGroupPerBucket, 0, 64);
        Check(errors, nameof(MaxLocalContactsPerIpGroupPerTable), MaxLocalContactsPerIpGroupPerTable, 0, 16_384);
        Check(errors, nameof(ReceiveBufferBytes), ReceiveBufferBytes, 64 * 1024, 256 * 1024 * 1024);
        return errors;
    }

    private static void Check<T>(List<string> errors, string key, T value, T min, T max)
        where T : IComparable<T>
    {
        if (value.CompareTo(min) < 0 || value.CompareTo(max) > 0)
        {
            errors.Add($"Kademlia:{key} = {value} is out of range {min}..{max}.");
        }
    }
}
