using System.Net;
using System.Security.Cryptography;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using Overlay.Kademlia.Internal;
using Overlay.Kademlia.Wire;

namespace Overlay.Kademlia;

/// <summary>
/// One Kademlia DHT node (Maymounkov &amp; Mazières 2002; BEP 5, BEP 44 and libp2p kad-dht as practice) over an
/// <see cref="IMessageTransport"/>: it answers PING, FIND_NODE, FIND_VALUE, STORE, ADD_PROVIDER and GET_PROVIDERS,
/// runs iterative lookups (alpha in flight, ending when the k closest seen have all answered), stores and republishes
/// records and provider records on the k closest nodes, and keeps its routing table fresh.
/// </summary>
/// <remarks>
/// <para>Only nodes that proved their ID enter the routing table: a PONG to our fresh challenge, from the endpoint we
/// PINGed, carrying the Ed25519 key whose SHA-256 is the ID and a signature over the challenge and our ID; unknown
/// responders and requesters are verified so (at most <see cref="KademliaOptions.MaxPendingVerifications"/> at once),
/// while lookups use unverified contacts. STORE and ADD_PROVIDER need a write token that this node handed to the
/// writer's address in a lookup answer (BEP 5 tokens). Every answer carries an address token, and a request that does
/// not echo a valid one is answered within 3x its size (RFC 9000 §8.1); our own requests echo the token, or are padded
/// to 411 bytes when we hold none, so a first contact still gets a full answer.</para>
/// <para>Time is read only through the injected <see cref="TimeProvider"/> (monotonic timestamps for round trips, UTC
/// for record expiry), so the same code runs over real UDP and in a simulation in virtual time. Untrusted datagrams
/// never throw: malformed, wrong-version, unknown or unsolicited ones are dropped and counted
/// (<see cref="KademliaStatistics.DatagramsDropped"/>, metric <c>overlay.kademlia.datagrams.dropped</c>).</para>
/// <para>Thread-safe: the transport delivers on its own thread, public methods may be called concurrently; the routing
/// table and stores are guarded by one lock held only for short, non-blocking sections.</para>
/// </remarks>
public sealed class KademliaNode : IAsyncDisposable
{
    // The parts (Kademlia/Internal, ARCHITECTURE.md "One node"): the shared state, the requesting side, the receiving
    // side, the lookups and the upkeep. This class checks arguments, wires the parts and owns start and shutdown.
    private readonly NodeContext _context;
    private readonly RpcClient _rpc;
    private readonly RequestHandler _handler;
    private readonly LookupRunner _lookups;
    private readonly MaintenanceJobs _jobs;
    private Task? _maintenance;
    private int _started;

    /// <summary>Creates a node over a transport; nothing is received until <see cref="Start"/>.</summary>
    /// <param name="identity">The node's key pair; its <see cref="NodeIdentity.Id"/> is the node ID and it signs mutable records.</param>
    /// <param name="transport">The datagram transport (real UDP or in-memory); not owned: the caller disposes it after this node.</param>
    /// <param name="options">The options; validated here.</param>
    /// <param name="timeProvider">The clock for timeouts, expiries and maintenance.</param>
    /// <param name="loggerFactory">Creates the node's logger (EventIds 1020-1099).</param>
    /// <param name="random">Randomness for transaction ids and refresh targets (seeded in simulations); null draws a seed from the OS CSPRNG.</param>
    /// <param name="publications">Keeps what this node publishes across restarts (loaded on <see cref="Start"/>, saved on every change); null keeps it in memory only.</param>
    /// <exception cref="ArgumentNullException">An argument other than <paramref name="random"/> and <paramref name="publications"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="options"/> fails <see cref="KademliaOptions.Validate"/>; the message lists every bad option.</exception>
    public KademliaNode(NodeIdentity identity, IMessageTransport transport, KademliaOptions options, TimeProvider timeProvider, ILoggerFactory loggerFactory, Random? random = null, IPublicationStore? publications = null)
    {
        ArgumentNullException.ThrowIfNull(identity);
        ArgumentNullException.ThrowIfNull(transport);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        var errors = options.Validate();
        if (errors.Count > 0)
        {
            throw new ArgumentException(string.Join(" ", errors), nameof(options));
        }

        Identity = identity;
        _context = new NodeContext(
            identity,
            transport,
            options,
            timeProvider,
            loggerFactory.CreateLogger<KademliaNode>(),
            random ?? new Random(RandomNumberGenerator.GetInt32(int.MaxValue)));
        LocalContact = _context.LocalContact;
        _rpc = new RpcClient(_context);

        // The handler seeds its two rate limiters from the node's Random: the first draws of a seeded run.
        _handler = new RequestHandler(_context, _rpc);
        _lookups = new LookupRunner(_context, _rpc);
        _jobs = new MaintenanceJobs(_context, _rpc, _lookups, publications);
    }

    /// <summary>Gets the node ID: SHA-256 of the identity's Ed25519 public key (32 bytes).</summary>
    public NodeId Id => Identity.Id;

    /// <summary>Gets the node's key pair.</summary>
    public NodeIdentity Identity { get; }

    /// <summary>Gets this node as others should know it: its ID and the transport's local endpoint.</summary>
    public NodeContact LocalContact { get; }

    /// <summary>Starts receiving datagrams and the maintenance loop (expiry, bucket refresh, republish, replication). Idempotent.</summary>
    /// <exception cref="ObjectDisposedException">The node was disposed.</exception>
    public void Start()
    {
        ObjectDisposedException.ThrowIf(_context.IsDisposed, this);
        if (Interlocked.Exchange(ref _started, 1) != 0)
        {
            return;
        }

        _jobs.Initialize();
        _context.Transport.Start(_handler.OnDatagram);
        _maintenance = _context.Spawn(() => _jobs.RunAsync(_context.Shutdown.Token));
        NodeLog.Started(_context.Logger, Id, LocalContact.EndPoint);
    }

    /// <summary>
    /// Joins the swarm: PINGs every bootstrap contact (those that answer enter the routing table), looks up this
    /// node's own ID so its neighbours learn of it, then refreshes every bucket up to the deepest non-empty one with a
    /// lookup of a random ID in it (paper §2.3, "joining the network").
    /// </summary>
    /// <param name="contacts">Bootstrap endpoints (UDP); this node's own endpoint is skipped.</param>
    /// <param name="cancellationToken">Cancels the join.</param>
    /// <returns>How many contacts answered and the routing table's size afterwards; no contact answering is a result (0), not an exception.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="contacts"/> is null.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public Task<BootstrapResult> BootstrapAsync(IReadOnlyList<IPEndPoint> contacts, CancellationToken cancellationToken = default) =>
        _jobs.BootstrapAsync(contacts, cancellationToken);

    /// <summary>
    /// Sends PING to <paramref name="endPoint"/>, re-sent up to <see cref="KademliaOptions.RpcRetries"/> times, one
    /// adaptive timeout apart. The PING carries an identity challenge: a node that answers with a valid proof enters the routing table.
    /// </summary>
    /// <param name="endPoint">The node's UDP endpoint.</param>
    /// <param name="cancellationToken">Cancels the PING.</param>
    /// <returns>The outcome; an unanswered PING is <see cref="PingResult.Success"/> = false, not an exception.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="endPoint"/> is null.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public Task<PingResult> PingAsync(IPEndPoint endPoint, CancellationToken cancellationToken = default) =>
        _rpc.PingAsync(endPoint, cancellationToken);

    /// <summary>Runs an iterative FIND_NODE lookup (paper §2.3) for <paramref name="target"/>.</summary>
    /// <param name="target">The ID looked up.</param>
    /// <param name="cancellationToken">Cancels the lookup.</param>
    /// <returns>At most k nodes that answered, ascending XOR distance to the target, including this node when it is among them.</returns>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public Task<LookupResult> FindNodeAsync(NodeId target, CancellationToken cancellationToken = default) =>
        _lookups.FindNodeAsync(target, cancellationToken);

    /// <summary>
    /// Stores <paramref name="record"/> on the k closest nodes to its key (and locally when this node is among them),
    /// and re-stores it every <see cref="KademliaOptions.RepublishInterval"/> until it expires or this node stops.
    /// </summary>
    /// <param name="record">An immutable or signed mutable record; its TTL sent is its remaining lifetime, capped by each storing node at <see cref="KademliaOptions.RecordTtl"/>.</param>
    /// <param name="cancellationToken">Cancels the store (the record stays scheduled for republish).</param>
    /// <returns>How many nodes accepted it and how many refused.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="record"/> is null.</exception>
    /// <exception cref="ArgumentException">The record does not verify against its key, its value exceeds <see cref="KademliaOptions.MaxValueBytes"/>, or its STORE request would not fit in one 1232-byte datagram.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<PutResult> PutAsync(DhtRecord record, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        var check = record.Verify(_context.Options.MaxValueBytes);
        if (check != RecordCheck.Valid)
        {
            throw new ArgumentException($"The record for key {record.Key} is {check}: it does not verify against its key.", nameof(record));
        }

        var probe = new Envelope
        {
            Version = WireCodec.ProtocolVersion,
            TransactionId = uint.MaxValue,
            SenderId = _context.SenderId,
            Store = new StoreRequest { Key = WireCodec.ToBytes(record.Key), Record = WireCodec.ToWire(record, _context.Time.GetUtcNow()), Token = ByteString.CopyFrom(new byte[WriteTokens.Length]) },
        };
        if (probe.CalculateSize() > KademliaOptions.MaxDatagramBytes)
        {
            throw new ArgumentException($"The record for key {record.Key} encodes to {probe.CalculateSize()} bytes in a STORE request; at most {KademliaOptions.MaxDatagramBytes} fit in one datagram (shorten the value or salt).", nameof(record));
        }

        _jobs.Publish(record);
        var result = await _lookups.StoreOnClosestAsync(record, cancellationToken).ConfigureAwait(false);
        NodeLog.Stored(_context.Logger, record.Key, result.StoredOn);
        return result;
    }

    /// <summary>
    /// Looks up the record stored under <paramref name="key"/>: the local store first for an immutable record, then an
    /// iterative FIND_VALUE lookup. Every record received is verified; for a mutable key the highest valid sequence
    /// seen during the whole lookup wins (BEP 44).
    /// </summary>
    /// <param name="key">The record key.</param>
    /// <param name="cancellationToken">Cancels the lookup.</param>
    /// <returns>The record, or <see cref="GetResult.Record"/> = null when no live, valid record was found.</returns>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public Task<GetResult> GetAsync(NodeId key, CancellationToken cancellationToken = default) =>
        _lookups.GetAsync(key, cancellationToken);

    /// <summary>
    /// Announces this node as a provider of <paramref name="key"/> (ADD_PROVIDER) on the k closest nodes, and
    /// re-announces it every <see cref="KademliaOptions.RepublishInterval"/> until this node stops. The storing nodes
    /// record the endpoint they observe the announcement from.
    /// </summary>
    /// <param name="key">The content key (for a CID: SHA-256 of its multihash).</param>
    /// <param name="cancellationToken">Cancels the announcement (the key stays scheduled for re-announcement).</param>
    /// <returns>How many nodes accepted the provider record.</returns>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<PutResult> ProvideAsync(NodeId key, CancellationToken cancellationToken = default)
    {
        _jobs.Provide(key);
        var result = await _lookups.AnnounceProviderAsync(key, cancellationToken).ConfigureAwait(false);
        NodeLog.Stored(_context.Logger, key, result.StoredOn);
        return result;
    }

    /// <summary>
    /// Finds providers of <paramref name="key"/>: those held locally, then an iterative GET_PROVIDERS lookup that stops
    /// once <paramref name="maxProviders"/> distinct providers are known (libp2p kad-dht practice) or the lookup ends.
    /// </summary>
    /// <param name="key">The content key.</param>
    /// <param name="maxProviders">The most providers wanted, 1..1024.</param>
    /// <param name="cancellationToken">Cancels the lookup.</param>
    /// <returns>Distinct providers (never this node), at most <paramref name="maxProviders"/>; empty when nobody provides the key.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxProviders"/> is outside 1..1024.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public Task<ProvidersResult> GetProvidersAsync(NodeId key, int maxProviders, CancellationToken cancellationToken = default) =>
        _lookups.GetProvidersAsync(key, maxProviders, cancellationToken);

    /// <summary>Returns a snapshot of the node's counters and table sizes.</summary>
    /// <returns>The counters since <see cref="Start"/>.</returns>
    public KademliaStatistics GetStatistics()
    {
        lock (_context.Gate)
        {
            return new KademliaStatistics(
                _handler.Received,
                _handler.Dropped,
                _handler.Served,
                _rpc.Matched,
                _rpc.Sent,
                _rpc.Timeouts,
                _context.Table.Count,
                _context.Records.Count,
                _context.Providers.Count)
            {
                RequestsRefused = _handler.RequestsRefused,
                RpcRefused = _rpc.RpcRefused,
                DiversityRefusals = _context.Table.DiversityRefusals,
                PendingRequests = _rpc.PendingCount,
                IdentityProofsAccepted = _handler.Buckets.ProofsAccepted,
                IdentityProofsRejected = _handler.Buckets.ProofsRejected,
                PongsUnsigned = _handler.PongsUnsigned,
                AnswersTrimmed = _handler.AnswersTrimmed,
            };
        }
    }

    /// <summary>Returns every contact in the routing table, bucket by bucket (farthest bucket first).</summary>
    /// <returns>A new list; at most 256·k contacts.</returns>
    public IReadOnlyList<NodeContact> GetContacts()
    {
        lock (_context.Gate)
        {
            return _context.Table.All();
        }
    }

    /// <summary>
    /// Stops the maintenance loop, completes every pending request as unanswered and waits (at most 5 s) for
    /// background work. Datagrams delivered afterwards are dropped. Does not dispose the transport. Idempotent.
    /// </summary>
    /// <returns>A task that completes when the node has stopped.</returns>
    public async ValueTask DisposeAsync()
    {
        if (!_context.TryMarkDisposed())
        {
            return;
        }

        // Synchronous: cancellation callbacks run here, on the caller's thread (the simulation's, in a simulation).
        _context.Shutdown.Cancel();
        _rpc.FailAllPending();
        var tasks = _context.BackgroundTasks();
        if (_maintenance is not null)
        {
            tasks.Add(_maintenance);
        }

        try
        {
            await Task.WhenAll(tasks).WaitAsync(TimeSpan.FromSeconds(5), _context.Time).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // Background work that ignores cancellation for 5 s is abandoned; it holds no resources of ours.
        }

        _context.Shutdown.Dispose();
    }
}
