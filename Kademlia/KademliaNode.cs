using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using System.Threading.Channels;
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
/// <para>Only nodes that answered one of our requests enter the routing table; an unknown node that sends us a request
/// is first verified with a PING (at most <see cref="KademliaOptions.MaxPendingVerifications"/> at once). STORE and
/// ADD_PROVIDER need a write token that this node handed to the writer's address in a lookup answer (BEP 5 tokens).</para>
/// <para>Time is read only through the injected <see cref="TimeProvider"/> (monotonic timestamps for round trips, UTC
/// for record expiry), so the same code runs over real UDP and in a simulation in virtual time. Untrusted datagrams
/// never throw: malformed, wrong-version, unknown or unsolicited ones are dropped and counted
/// (<see cref="KademliaStatistics.DatagramsDropped"/>, metric <c>overlay.kademlia.datagrams.dropped</c>).</para>
/// <para>Thread-safe: the transport delivers on its own thread, public methods may be called concurrently; the routing
/// table and stores are guarded by one lock held only for short, non-blocking sections.</para>
/// </remarks>
public sealed class KademliaNode : IAsyncDisposable
{
    private readonly IMessageTransport _transport;

    /// <summary>This node's 32-byte ID as the sender_id of every envelope it writes; built once, never mutated.</summary>
    private readonly ByteString _senderId;
    private readonly KademliaOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Random _random;
    private readonly object _gate = new();
    private readonly RoutingTable _table;
    private readonly RecordStore _records;
    private readonly ProviderStore _providers;
    private readonly WriteTokens _tokens;
    private readonly RttEstimator _rtt;
    private readonly ConcurrentDictionary<uint, PendingRequest> _pending = new();
    private readonly ConcurrentDictionary<NodeId, byte> _verifying = new();
    private readonly ConcurrentDictionary<Task, byte> _background = new();
    private readonly Dictionary<NodeId, Publication> _published = [];
    private readonly Dictionary<NodeId, Publication> _provided = [];
    private readonly Dictionary<NodeId, long> _lastStoredHere = [];
    private readonly Dictionary<NodeId, long> _recentlyVerified = [];
    private readonly Queue<NodeId> _verificationOrder = new();
    private readonly CancellationTokenSource _shutdown = new();
    private Task? _maintenance;
    private long _lastReplication;
    private long _lastSelfLookup;
    private long _received;
    private long _dropped;
    private long _served;
    private long _matched;
    private long _sent;
    private long _timeouts;
    private int _started;
    private int _disposed;

    /// <summary>Creates a node over a transport; nothing is received until <see cref="Start"/>.</summary>
    /// <param name="identity">The node's key pair; its <see cref="NodeIdentity.Id"/> is the node ID and it signs mutable records.</param>
    /// <param name="transport">The datagram transport (real UDP or in-memory); not owned: the caller disposes it after this node.</param>
    /// <param name="options">The options; validated here.</param>
    /// <param name="timeProvider">The clock for timeouts, expiries and maintenance.</param>
    /// <param name="loggerFactory">Creates the node's logger (EventIds 1020-1099).</param>
    /// <param name="random">Randomness for transaction ids and refresh targets (seeded in simulations); null draws a seed from the OS CSPRNG.</param>
    /// <exception cref="ArgumentNullException">An argument other than <paramref name="random"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="options"/> fails <see cref="KademliaOptions.Validate"/>; the message lists every bad option.</exception>
    public KademliaNode(NodeIdentity identity, IMessageTransport transport, KademliaOptions options, TimeProvider timeProvider, ILoggerFactory loggerFactory, Random? random = null)
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
        _transport = transport;
        _options = options;
        _time = timeProvider;
        _logger = loggerFactory.CreateLogger<KademliaNode>();
        _random = random ?? new Random(RandomNumberGenerator.GetInt32(int.MaxValue));
        LocalContact = new NodeContact(identity.Id, WireCodec.Normalize(transport.LocalEndPoint));
        _senderId = WireCodec.ToBytes(identity.Id);
        _table = new RoutingTable(identity.Id, options.BucketSize);
        _records = new RecordStore(options.MaxRecords);
        _providers = new ProviderStore(options.MaxProviderKeys, options.MaxProvidersPerKey);
        _tokens = new WriteTokens(timeProvider, () => RandomNumberGenerator.GetBytes(32));
        _rtt = new RttEstimator(options.RpcTimeoutInitial, options.RpcTimeoutMin, options.RpcTimeoutMax);
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
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (Interlocked.Exchange(ref _started, 1) != 0)
        {
            return;
        }

        _lastReplication = _time.GetTimestamp();
        _lastSelfLookup = _lastReplication;
        _transport.Start(OnDatagram);
        _maintenance = Spawn(() => MaintenanceLoopAsync(_shutdown.Token));
        NodeLog.Started(_logger, Id, LocalContact.EndPoint);
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
    public async Task<BootstrapResult> BootstrapAsync(IReadOnlyList<IPEndPoint> contacts, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(contacts);
        var pings = contacts
            .Select(WireCodec.Normalize)
            .Where(c => !c.Equals(LocalContact.EndPoint))
            .Distinct()
            .Select(c => PingAsync(c, cancellationToken))
            .ToList();
        var results = await Task.WhenAll(pings).ConfigureAwait(false);
        var reached = results.Count(r => r.Success);
        if (reached > 0)
        {
            await SelfLookupAsync(cancellationToken).ConfigureAwait(false);
            await RefreshAsync(force: true, cancellationToken).ConfigureAwait(false);
        }

        int size;
        lock (_gate)
        {
            size = _table.Count;
        }

        NodeLog.Bootstrapped(_logger, reached, pings.Count, size);
        return new BootstrapResult(reached, size);
    }

    /// <summary>
    /// Sends PING to <paramref name="endPoint"/>, re-sent up to <see cref="KademliaOptions.RpcRetries"/> times, one
    /// adaptive timeout apart. A node that answers enters the routing table.
    /// </summary>
    /// <param name="endPoint">The node's UDP endpoint.</param>
    /// <param name="cancellationToken">Cancels the PING.</param>
    /// <returns>The outcome; an unanswered PING is <see cref="PingResult.Success"/> = false, not an exception.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="endPoint"/> is null.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<PingResult> PingAsync(IPEndPoint endPoint, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        endPoint = WireCodec.Normalize(endPoint);
        var response = await RequestWithRetriesAsync(endPoint, null, new Envelope { Ping = new PingRequest() }, cancellationToken).ConfigureAwait(false);
        if (response is null)
        {
            return new PingResult(endPoint, false, null, TimeSpan.Zero, null);
        }

        var pong = response.Envelope.Pong;
        WireCodec.TryEndPoint(pong.ObservedIp, pong.ObservedPort, out var observed);
        return new PingResult(endPoint, true, response.Sender.Id, response.RoundTrip, observed is null ? null : WireCodec.Normalize(observed));
    }

    /// <summary>Runs an iterative FIND_NODE lookup (paper §2.3) for <paramref name="target"/>.</summary>
    /// <param name="target">The ID looked up.</param>
    /// <param name="cancellationToken">Cancels the lookup.</param>
    /// <returns>At most k nodes that answered, ascending XOR distance to the target, including this node when it is among them.</returns>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public Task<LookupResult> FindNodeAsync(NodeId target, CancellationToken cancellationToken = default) =>
        LookupAsync(target, () => new Envelope { FindNode = new FindNodeRequest { Target = WireCodec.ToBytes(target) } }, null, cancellationToken);

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
        var check = record.Verify(_options.MaxValueBytes);
        if (check != RecordCheck.Valid)
        {
            throw new ArgumentException($"The record for key {record.Key} is {check}: it does not verify against its key.", nameof(record));
        }

        var probe = new Envelope
        {
            Version = WireCodec.ProtocolVersion,
            TransactionId = uint.MaxValue,
            SenderId = _senderId,
            Store = new StoreRequest { Key = WireCodec.ToBytes(record.Key), Record = WireCodec.ToWire(record, _time.GetUtcNow()), Token = ByteString.CopyFrom(new byte[WriteTokens.Length]) },
        };
        if (probe.CalculateSize() > KademliaOptions.MaxDatagramBytes)
        {
            throw new ArgumentException($"The record for key {record.Key} encodes to {probe.CalculateSize()} bytes in a STORE request; at most {KademliaOptions.MaxDatagramBytes} fit in one datagram (shorten the value or salt).", nameof(record));
        }

        lock (_gate)
        {
            _published[record.Key] = new Publication(record, _time.GetTimestamp());
        }

        var result = await StoreOnClosestAsync(record, cancellationToken).ConfigureAwait(false);
        NodeLog.Stored(_logger, record.Key, result.StoredOn);
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
    public async Task<GetResult> GetAsync(NodeId key, CancellationToken cancellationToken = default)
    {
        DhtRecord? best;
        lock (_gate)
        {
            best = _records.Get(key, _time.GetUtcNow()) ?? LivePublished(key);
        }

        if (best is { IsMutable: false })
        {
            return new GetResult(key, best, new LookupResult(key, [LocalContact], 0, 0, 0, TimeSpan.Zero));
        }

        var lookup = await LookupAsync(
            key,
            () => new Envelope { FindValue = new FindValueRequest { Key = WireCodec.ToBytes(key) } },
            response =>
            {
                if (response.Envelope.Value?.Record is not { } wire
                    || WireCodec.FromWire(key, wire, _time.GetUtcNow(), _options.RecordTtl) is not { } record
                    || record.Verify(_options.MaxValueBytes) != RecordCheck.Valid)
                {
                    return false;
                }

                if (best is null || (record.IsMutable && record.Sequence > best.Sequence))
                {
                    best = record;
                }

                return !record.IsMutable;
            },
            cancellationToken).ConfigureAwait(false);
        return new GetResult(key, best, lookup);
    }

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
        lock (_gate)
        {
            _provided[key] = new Publication(null, _time.GetTimestamp());
        }

        var result = await AnnounceProviderAsync(key, cancellationToken).ConfigureAwait(false);
        NodeLog.Stored(_logger, key, result.StoredOn);
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
    public async Task<ProvidersResult> GetProvidersAsync(NodeId key, int maxProviders, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxProviders, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxProviders, 1024);
        var found = new Dictionary<NodeId, ProviderRecord>();
        lock (_gate)
        {
            foreach (var record in _providers.Get(key, maxProviders, _time.GetUtcNow()).Where(r => r.ProviderId != Id))
            {
                found[record.ProviderId] = record;
            }
        }

        if (found.Count >= maxProviders)
        {
            return new ProvidersResult(key, [.. found.Values], new LookupResult(key, [LocalContact], 0, 0, 0, TimeSpan.Zero));
        }

        var lookup = await LookupAsync(
            key,
            () => new Envelope { GetProviders = new GetProvidersRequest { Key = WireCodec.ToBytes(key) } },
            response =>
            {
                var now = _time.GetUtcNow();
                foreach (var provider in response.Envelope.Providers?.Providers ?? [])
                {
                    if (found.Count < maxProviders
                        && NodeId.TryFromBytes(provider.Id.Span, out var providerId)
                        && providerId != Id
                        && WireCodec.TryEndPoint(provider.Ip, provider.Port, out var endPoint))
                    {
                        var ttl = TimeSpan.FromSeconds(Math.Min(provider.TtlSeconds, _options.RecordTtl.TotalSeconds));
                        found.TryAdd(providerId, new ProviderRecord(key, providerId, WireCodec.Normalize(endPoint), now + ttl));
                    }
                }

                return found.Count >= maxProviders;
            },
            cancellationToken).ConfigureAwait(false);
        return new ProvidersResult(key, [.. found.Values], lookup);
    }

    /// <summary>Returns a snapshot of the node's counters and table sizes.</summary>
    /// <returns>The counters since <see cref="Start"/>.</returns>
    public KademliaStatistics GetStatistics()
    {
        lock (_gate)
        {
            return new KademliaStatistics(
                Interlocked.Read(ref _received),
                Interlocked.Read(ref _dropped),
                Interlocked.Read(ref _served),
                Interlocked.Read(ref _matched),
                Interlocked.Read(ref _sent),
                Interlocked.Read(ref _timeouts),
                _table.Count,
                _records.Count,
                _providers.Count);
        }
    }

    /// <summary>Returns every contact in the routing table, bucket by bucket (farthest bucket first).</summary>
    /// <returns>A new list; at most 256·k contacts.</returns>
    public IReadOnlyList<NodeContact> GetContacts()
    {
        lock (_gate)
        {
            return _table.All();
        }
    }

    /// <summary>
    /// Stops the maintenance loop, completes every pending request as unanswered and waits (at most 5 s) for
    /// background work. Datagrams delivered afterwards are dropped. Does not dispose the transport. Idempotent.
    /// </summary>
    /// <returns>A task that completes when the node has stopped.</returns>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        // Synchronous: cancellation callbacks run here, on the caller's thread (the simulation's, in a simulation).
        _shutdown.Cancel();
        foreach (var pending in _pending.Values)
        {
            pending.Complete(null);
        }

        _pending.Clear();
        var tasks = _background.Keys.ToList();
        if (_maintenance is not null)
        {
            tasks.Add(_maintenance);
        }

        try
        {
            await Task.WhenAll(tasks).WaitAsync(TimeSpan.FromSeconds(5), _time).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // Background work that ignores cancellation for 5 s is abandoned; it holds no resources of ours.
        }

        _shutdown.Dispose();
    }

    // ----- Receiving -----

    private void OnDatagram(IPEndPoint remote, ReadOnlySpan<byte> datagram)
    {
        Interlocked.Increment(ref _received);
        KademliaMetrics.DatagramsReceived.Add(1);
        if (Volatile.Read(ref _disposed) != 0)
        {
            Drop(remote, "stopped");
            return;
        }

        Envelope envelope;
        try
        {
            envelope = Envelope.Parser.ParseFrom(datagram);
        }
        catch (InvalidProtocolBufferException)
        {
            Drop(remote, "malformed");
            return;
        }

        if (envelope.Version != WireCodec.ProtocolVersion)
        {
            Drop(remote, "version");
            return;
        }

        if (!NodeId.TryFromBytes(envelope.SenderId.Span, out var senderId) || senderId == Id)
        {
            Drop(remote, "sender-id");
            return;
        }

        remote = WireCodec.Normalize(remote);
        switch (envelope.BodyCase)
        {
            case Envelope.BodyOneofCase.Pong:
            case Envelope.BodyOneofCase.Nodes:
            case Envelope.BodyOneofCase.Value:
            case Envelope.BodyOneofCase.Stored:
            case Envelope.BodyOneofCase.ProviderAdded:
            case Envelope.BodyOneofCase.Providers:
                OnResponse(remote, senderId, envelope);
                break;
            case Envelope.BodyOneofCase.Ping:
            case Envelope.BodyOneofCase.FindNode:
            case Envelope.BodyOneofCase.FindValue:
            case Envelope.BodyOneofCase.Store:
            case Envelope.BodyOneofCase.AddProvider:
            case Envelope.BodyOneofCase.GetProviders:
                OnRequest(remote, senderId, envelope);
                break;
            default:
                Drop(remote, "unknown-body");
                break;
        }
    }

    private void OnResponse(IPEndPoint remote, NodeId senderId, Envelope envelope)
    {
        if (!_pending.TryGetValue(envelope.TransactionId, out var pending)
            || !pending.Matches(remote, senderId, envelope.BodyCase)
            || !_pending.TryRemove(envelope.TransactionId, out _))
        {
            Drop(remote, "unsolicited");
            return;
        }

        Interlocked.Increment(ref _matched);
        var roundTrip = _time.GetElapsedTime(pending.SentAt);
        if (!pending.Retransmitted)
        {
            _rtt.AddSample(roundTrip);
        }

        var sender = new NodeContact(senderId, remote);
        NodeContact? evictionCandidate;
        lock (_gate)
        {
            _verifying.TryRemove(senderId, out _);
            evictionCandidate = _table.Update(sender, _time.GetTimestamp());
        }

        if (evictionCandidate is not null)
        {
            RunInBackground(() => CheckEvictionCandidateAsync(evictionCandidate));
        }

        pending.Complete(new RpcResponse(envelope, sender, roundTrip));
    }

    private void OnRequest(IPEndPoint remote, NodeId senderId, Envelope request)
    {
        var now = _time.GetUtcNow();
        var response = new Envelope();
        switch (request.BodyCase)
        {
            case Envelope.BodyOneofCase.Ping:
                response.Pong = new PingResponse
                {
                    ObservedIp = UnsafeByteOperations.UnsafeWrap(remote.Address.GetAddressBytes()),
                    ObservedPort = (uint)remote.Port,
                };
                break;
            case Envelope.BodyOneofCase.FindNode:
                if (!NodeId.TryFromBytes(request.FindNode.Target.Span, out var target))
                {
                    Drop(remote, "bad-target");
                    return;
                }

                // The hot answer of every lookup: written from the contacts' cached encodings, not through Envelope.
                AnswerFindNode(remote, request.TransactionId, target, request.FindNode.WantToken);
                Served(request.BodyCase);
                ConsiderRequester(remote, senderId);
                return;
            case Envelope.BodyOneofCase.FindValue:
                if (!NodeId.TryFromBytes(request.FindValue.Key.Span, out var valueKey))
                {
                    Drop(remote, "bad-key");
                    return;
                }

                response.Value = new ValueResponse { Token = ByteString.CopyFrom(_tokens.Issue(remote)) };
                DhtRecord? held;
                lock (_gate)
                {
                    held = _records.Get(valueKey, now) ?? LivePublished(valueKey);
                }

                if (held is not null)
                {
                    response.Value.Record = WireCodec.ToWire(held, now);
                }
                else
                {
                    response.Value.Closer.AddRange(ClosestContacts(valueKey));
                }

                break;
            case Envelope.BodyOneofCase.Store:
                response.Stored = new StoreResponse { Status = HandleStore(remote, request.Store, now) };
                break;
            case Envelope.BodyOneofCase.AddProvider:
                response.ProviderAdded = new StoreResponse { Status = HandleAddProvider(remote, senderId, request.AddProvider, now) };
                break;
            case Envelope.BodyOneofCase.GetProviders:
                if (!NodeId.TryFromBytes(request.GetProviders.Key.Span, out var providerKey))
                {
                    Drop(remote, "bad-key");
                    return;
                }

                response.Providers = new ProvidersResponse { Token = ByteString.CopyFrom(_tokens.Issue(remote)) };
                lock (_gate)
                {
                    foreach (var record in _providers.Get(providerKey, _options.MaxProvidersPerKey, now))
                    {
                        response.Providers.Providers.Add(new Provider
                        {
                            Id = WireCodec.ToBytes(record.ProviderId),
                            Ip = UnsafeByteOperations.UnsafeWrap(record.EndPoint.Address.GetAddressBytes()),
                            Port = (uint)record.EndPoint.Port,
                            TtlSeconds = (uint)Math.Clamp(Math.Ceiling((record.Expires - now).TotalSeconds), 0, uint.MaxValue),
                        });
                    }
                }

                response.Providers.Closer.AddRange(ClosestContacts(providerKey));
                break;
        }

        Served(request.BodyCase);
        response.Version = WireCodec.ProtocolVersion;
        response.TransactionId = request.TransactionId;
        response.SenderId = _senderId;
        Send(remote, response, FitToDatagram(response));
        ConsiderRequester(remote, senderId);
    }

    private void Served(Envelope.BodyOneofCase request)
    {
        Interlocked.Increment(ref _served);
        KademliaMetrics.RequestsServed.Add(1, new KeyValuePair<string, object?>("rpc", RpcTag(request)));
    }

    private void AnswerFindNode(IPEndPoint remote, uint transactionId, NodeId target, bool wantToken)
    {
        List<RoutingEntry> closest;
        lock (_gate)
        {
            closest = _table.ClosestEntries(target, _options.BucketSize);
        }

        Span<byte> buffer = stackalloc byte[KademliaOptions.MaxDatagramBytes];
        var size = NodesAnswer.Write(buffer, transactionId, _senderId.Span, closest, wantToken ? _tokens.Issue(remote) : default);
        _transport.Send(remote, buffer[..size]);
    }

    private StoreStatus HandleStore(IPEndPoint remote, StoreRequest store, DateTimeOffset now)
    {
        if (!_tokens.Validate(remote, store.Token.Span))
        {
            NodeLog.Refused(_logger, "STORE", remote, "bad token");
            return StoreStatus.BadToken;
        }

        if (!NodeId.TryFromBytes(store.Key.Span, out var key)
            || WireCodec.FromWire(key, store.Record, now, _options.RecordTtl) is not { } record)
        {
            return StoreStatus.Invalid;
        }

        switch (record.Verify(_options.MaxValueBytes))
        {
            case RecordCheck.BadSignature:
                NodeLog.Refused(_logger, "STORE", remote, "bad signature");
                return StoreStatus.BadSignature;
            case RecordCheck.Invalid:
                return StoreStatus.Invalid;
        }

        if (record.Expires <= now)
        {
            return StoreStatus.Invalid;
        }

        lock (_gate)
        {
            var status = _records.Put(record, now);
            if (status != StoreStatus.Ok)
            {
                NodeLog.Refused(_logger, "STORE", remote, status.ToString());
            }
            else
            {
                _lastStoredHere[record.Key] = _time.GetTimestamp();
            }

            return status;
        }
    }

    private StoreStatus HandleAddProvider(IPEndPoint remote, NodeId senderId, AddProviderRequest add, DateTimeOffset now)
    {
        if (!_tokens.Validate(remote, add.Token.Span))
        {
            NodeLog.Refused(_logger, "ADD_PROVIDER", remote, "bad token");
            return StoreStatus.BadToken;
        }

        if (!NodeId.TryFromBytes(add.Key.Span, out var key) || add.TtlSeconds == 0)
        {
            return StoreStatus.Invalid;
        }

        var ttl = TimeSpan.FromSeconds(Math.Min(add.TtlSeconds, _options.RecordTtl.TotalSeconds));
        lock (_gate)
        {
            return _providers.Add(new ProviderRecord(key, senderId, remote, now + ttl), now) ? StoreStatus.Ok : StoreStatus.Full;
        }
    }

    /// <summary>
    /// Verifies an unknown requester with a PING before it may enter the routing table (paper §2.2: any message from a
    /// node updates its bucket), when its bucket has room, or is full with a head not heard from for
    /// <see cref="StaleContactAge"/>: then the answer goes to the replacement cache and triggers the PING of that head,
    /// which is replaced if dead. Under churn this is how new nodes displace departed ones; a full bucket of fresh
    /// contacts costs no PING. A node is verified at most once per <see cref="VerificationCooldown"/>: each verification
    /// PING is itself a request from a node the other side may not hold, so two nodes with full buckets would otherwise
    /// verify each other forever.
    /// </summary>
    private void ConsiderRequester(IPEndPoint remote, NodeId senderId)
    {
        var now = _time.GetTimestamp();
        lock (_gate)
        {
            var worthVerifying = _table.HasRoomFor(senderId)
                || _table.HasStaleHead(senderId, now - (long)(StaleContactAge.TotalSeconds * _time.TimestampFrequency));
            if (!worthVerifying
                || _table.Contains(senderId)
                || (_recentlyVerified.TryGetValue(senderId, out var at) && _time.GetElapsedTime(at, now) < VerificationCooldown))
            {
                return;
            }

            RememberVerification(senderId, now);
        }

        if (_verifying.Count >= _options.MaxPendingVerifications || !_verifying.TryAdd(senderId, 0))
        {
            return;
        }

        RunInBackground(async () =>
        {
            try
            {
                // With retries (RpcRetries copies, one RTO apart, answers to any counted): one RTO serves all peers, so
                // a single try would never verify a node on a slow access link, which would then stay unknown to its
                // neighbours (seen in simulation).
                await RequestWithRetriesAsync(remote, senderId, new Envelope { Ping = new PingRequest() }, _shutdown.Token).ConfigureAwait(false);
            }
            finally
            {
                _verifying.TryRemove(senderId, out _);
            }
        });
    }

    /// <summary>
    /// How long a full bucket's head may go unheard before a newcomer is verified to replace it if dead: 30 min, half
    /// the bucket refresh interval, so a bucket in use normally hears from its head first. With 5 min, a 10,000-node
    /// swarm growing for 20 virtual minutes sent 70 % more datagrams for no gain (simulated).
    /// </summary>
    private static readonly TimeSpan StaleContactAge = TimeSpan.FromMinutes(30);

    /// <summary>How long a verified requester is not verified again: 10 min.</summary>
    private static readonly TimeSpan VerificationCooldown = TimeSpan.FromMinutes(10);

    /// <summary>Records a verification; forgets the oldest past 16 × MaxPendingVerifications entries. Caller holds the lock.</summary>
    private void RememberVerification(NodeId id, long now)
    {
        if (!_recentlyVerified.ContainsKey(id))
        {
            _verificationOrder.Enqueue(id);
        }

        _recentlyVerified[id] = now;
        while (_verificationOrder.Count > 16 * Math.Max(1, _options.MaxPendingVerifications))
        {
            _recentlyVerified.Remove(_verificationOrder.Dequeue());
        }
    }

    private List<Contact> ClosestContacts(NodeId target)
    {
        lock (_gate)
        {
            return _table.ClosestEntries(target, _options.BucketSize).ConvertAll(e => e.Wire);
        }
    }

    /// <summary>
    /// Trims the farthest contacts, then the last providers, until the envelope fits one datagram; returns its encoded
    /// size in bytes (Google.Protobuf does not cache sizes, and computing one walks every contact).
    /// </summary>
    private static int FitToDatagram(Envelope envelope)
    {
        var closer = envelope.BodyCase switch
        {
            Envelope.BodyOneofCase.Value => envelope.Value.Closer,
            Envelope.BodyOneofCase.Providers => envelope.Providers.Closer,
            _ => null,
        };
        var size = envelope.CalculateSize();
        while (size > KademliaOptions.MaxDatagramBytes && closer is { Count: > 0 })
        {
            closer.RemoveAt(closer.Count - 1);
            size = envelope.CalculateSize();
        }

        var providers = envelope.BodyCase == Envelope.BodyOneofCase.Providers ? envelope.Providers.Providers : null;
        while (size > KademliaOptions.MaxDatagramBytes && providers is { Count: > 0 })
        {
            providers.RemoveAt(providers.Count - 1);
            size = envelope.CalculateSize();
        }

        return size;
    }

    private void Drop(IPEndPoint remote, string reason)
    {
        Interlocked.Increment(ref _dropped);
        KademliaMetrics.DatagramsDropped.Add(1, new KeyValuePair<string, object?>("reason", reason));
        NodeLog.Dropped(_logger, remote, reason);
    }

    // ----- Requesting -----

    private void Send(IPEndPoint remote, Envelope envelope) => Send(remote, envelope, envelope.CalculateSize());

    private void Send(IPEndPoint remote, Envelope envelope, int size)
    {
        Span<byte> buffer = stackalloc byte[KademliaOptions.MaxDatagramBytes];
        Debug.Assert(size <= buffer.Length, "envelopes are fitted to one datagram before sending");
        envelope.WriteTo(buffer[..size]);
        _transport.Send(remote, buffer[..size]);
    }

    /// <summary>
    /// Sends one request and waits for its answer; null when unanswered or when the node stops. Unanswered after
    /// <paramref name="timeout"/>, the same datagram (same transaction id, so an answer to any copy counts) is sent
    /// again, up to <paramref name="retransmits"/> times, one <paramref name="timeout"/> apart; the request fails
    /// (1 + <paramref name="retransmits"/>) × <paramref name="timeout"/> after the first copy. Not RFC 6298 §5.5's
    /// doubling: one datagram per peer per timeout adds no congestion worth backing off from, and the same deadline
    /// with one more copy is what makes lookups survive 5 % loss (ARCHITECTURE.md, "Timeouts and retransmission").
    /// Round trips of retransmitted requests are not sampled (Karn's algorithm, RFC 6298 §3).
    /// </summary>
    private async Task<RpcResponse?> RequestAsync(IPEndPoint endPoint, NodeId? expectedId, Envelope request, TimeSpan timeout, int retransmits, CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _disposed) != 0)
        {
            return null;
        }

        request.Version = WireCodec.ProtocolVersion;
        request.SenderId = _senderId;
        var expectedBody = ResponseBodyFor(request.BodyCase);
        PendingRequest pending;
        do
        {
            uint transactionId;
            lock (_random)
            {
                transactionId = (uint)_random.NextInt64(0, 1L << 32);
            }

            request.TransactionId = transactionId;
            pending = new PendingRequest(transactionId, endPoint, expectedId, expectedBody, _time.GetTimestamp(), _transport.RequiresAsynchronousContinuations)
            {
                Request = request,
                Timeout = timeout,
                RetransmitsLeft = retransmits,
            };
        }
        while (!_pending.TryAdd(pending.TransactionId, pending));

        pending.Timer = _time.CreateTimer(
            static state =>
            {
                var (node, request) = ((KademliaNode, PendingRequest))state!;
                node.OnRequestTimer(request);
            },
            (this, pending),
            timeout,
            Timeout.InfiniteTimeSpan);
        Interlocked.Increment(ref _sent);
        Send(endPoint, request);
        using (cancellationToken.Register(static state =>
        {
            var (node, request, token) = ((KademliaNode, PendingRequest, CancellationToken))state!;
            if (node._pending.TryRemove(request.TransactionId, out _))
            {
                request.Cancel(token);
            }
        }, (this, pending, cancellationToken)))
        {
            return await pending.Task.ConfigureAwait(false);
        }
    }

    private void OnRequestTimer(PendingRequest request)
    {
        if (!_pending.ContainsKey(request.TransactionId))
        {
            return;
        }

        if (request.RetransmitsLeft > 0 && Volatile.Read(ref _disposed) == 0)
        {
            request.RetransmitsLeft--;
            request.Retransmitted = true;
            Interlocked.Increment(ref _sent);
            Send(request.EndPoint, request.Request);
            request.Timer?.Change(request.Timeout, Timeout.InfiniteTimeSpan);
            return;
        }

        if (_pending.TryRemove(request.TransactionId, out _))
        {
            Interlocked.Increment(ref _timeouts);
            KademliaMetrics.RpcTimeouts.Add(1);
            request.Complete(null);
        }
    }

    /// <summary>A direct RPC (PING, STORE, ADD_PROVIDER): the adaptive timeout, and <see cref="KademliaOptions.RpcRetries"/> retransmissions.</summary>
    private Task<RpcResponse?> RequestWithRetriesAsync(IPEndPoint endPoint, NodeId? expectedId, Envelope request, CancellationToken cancellationToken) =>
        RequestAsync(endPoint, expectedId, request, _rtt.Timeout, _options.RpcRetries, cancellationToken);

    // The metric tag of each request: Enum.ToString allocated a string per request served (seen in a perf profile).
    private static string RpcTag(Envelope.BodyOneofCase request) => request switch
    {
        Envelope.BodyOneofCase.Ping => nameof(Envelope.BodyOneofCase.Ping),
        Envelope.BodyOneofCase.FindNode => nameof(Envelope.BodyOneofCase.FindNode),
        Envelope.BodyOneofCase.FindValue => nameof(Envelope.BodyOneofCase.FindValue),
        Envelope.BodyOneofCase.Store => nameof(Envelope.BodyOneofCase.Store),
        Envelope.BodyOneofCase.AddProvider => nameof(Envelope.BodyOneofCase.AddProvider),
        Envelope.BodyOneofCase.GetProviders => nameof(Envelope.BodyOneofCase.GetProviders),
        _ => "Other",
    };

    private static Envelope.BodyOneofCase ResponseBodyFor(Envelope.BodyOneofCase request) => request switch
    {
        Envelope.BodyOneofCase.Ping => Envelope.BodyOneofCase.Pong,
        Envelope.BodyOneofCase.FindNode => Envelope.BodyOneofCase.Nodes,
        Envelope.BodyOneofCase.FindValue => Envelope.BodyOneofCase.Value,
        Envelope.BodyOneofCase.Store => Envelope.BodyOneofCase.Stored,
        Envelope.BodyOneofCase.AddProvider => Envelope.BodyOneofCase.ProviderAdded,
        Envelope.BodyOneofCase.GetProviders => Envelope.BodyOneofCase.Providers,
        _ => throw new UnreachableException($"{request} is not a request body"),
    };

    // ----- Lookups -----

    /// <summary>
    /// The one lookup runner (go-libp2p-kad-dht query.go): <paramref name="query"/> says what to ask each peer,
    /// <paramref name="onAnswer"/> reads each answer and says when to stop early; otherwise the lookup ends when the k
    /// closest peers seen have all answered (<see cref="ClosestPeersIterator"/>). A peer that failed is not asked again. A query that
    /// passes the adaptive RTO (soft timeout) stops counting against alpha, so the lookup asks another peer meanwhile,
    /// but a late answer is still taken; the query is retransmitted (RpcRetries, one RTO apart, same transaction id)
    /// and only then does the peer count as failed (libtorrent's short and long timeouts). One RTO for all peers would
    /// otherwise fail every peer on a long-tailed path, and one lost datagram would drop a peer from the result.
    /// </summary>
    private async Task<LookupResult> LookupAsync(NodeId target, Func<Envelope> query, Func<RpcResponse, bool>? onAnswer, CancellationToken cancellationToken)
    {
        var started = _time.GetTimestamp();
        List<NodeContact> seeds;
        lock (_gate)
        {
            seeds = _table.Closest(target, _options.BucketSize);
            _table.Touch(target, started);
        }

        var iterator = new ClosestPeersIterator(target, _options.BucketSize, _options.Alpha, seeds, LocalContact);

        // Answers, failures and soft timeouts arrive through one channel; its reader resumes on the writer's thread,
        // so a simulation stays on its thread and production pays no extra hop.
        var events = Channel.CreateUnbounded<LookupEvent>(new UnboundedChannelOptions { SingleReader = true, AllowSynchronousContinuations = true });
        var softTimers = new Dictionary<NodeId, ITimer>();
        var outstanding = 0;
        var stop = false;
        try
        {
            while (!stop)
            {
                while (iterator.TryGetNext(out var peer, out _))
                {
                    // The soft timeout (the adaptive RTO) frees the query's slot; the query itself is retransmitted
                    // (RpcRetries, one RTO apart) before the peer counts as failed.
                    var softTimeout = _rtt.Timeout;
                    outstanding++;
                    softTimers[peer.Id] = _time.CreateTimer(
                        static state =>
                        {
                            var (writer, slow) = ((ChannelWriter<LookupEvent>, NodeContact))state!;
                            writer.TryWrite(new LookupEvent(slow, null, Slow: true));
                        },
                        (events.Writer, peer),
                        softTimeout,
                        Timeout.InfiniteTimeSpan);
                    // The continuation only writes to the channel and cannot fault; the loop reads every outcome.
                    _ = RequestAsync(peer.EndPoint, peer.Id, query(), softTimeout, _options.RpcRetries, cancellationToken).ContinueWith(
                        static (task, state) =>
                        {
                            var (writer, queried) = ((ChannelWriter<LookupEvent>, NodeContact))state!;
                            writer.TryWrite(new LookupEvent(queried, task.IsCompletedSuccessfully ? task.Result : null, Slow: false));
                        },
                        (events.Writer, peer),
                        CancellationToken.None,
                        TaskContinuationOptions.ExecuteSynchronously,
                        TaskScheduler.Default);
                }

                if (outstanding == 0 || iterator.IsFinished)
                {
                    break;
                }

                var next = await events.Reader.ReadAsync(CancellationToken.None).ConfigureAwait(false);
                if (next.Slow)
                {
                    iterator.OnSlow(next.Peer.Id);
                    continue;
                }

                outstanding--;
                if (softTimers.Remove(next.Peer.Id, out var softTimer))
                {
                    softTimer.Dispose();
                }

                if (next.Response is null)
                {
                    iterator.OnFailure(next.Peer.Id);
                    lock (_gate)
                    {
                        _table.OnFailure(next.Peer.Id);
                    }

                    continue;
                }

                iterator.OnSuccess(next.Peer.Id, CloserOf(next.Response.Envelope));
                stop = onAnswer?.Invoke(next.Response) ?? false;
            }
        }
        finally
        {
            foreach (var timer in softTimers.Values)
            {
                timer.Dispose();
            }
        }

        cancellationToken.ThrowIfCancellationRequested();
        var elapsed = _time.GetElapsedTime(started);
        var result = new LookupResult(target, iterator.Result(), iterator.MaxDepth, iterator.Queried, iterator.Failures, elapsed);
        KademliaMetrics.LookupDuration.Record(elapsed.TotalSeconds);
        KademliaMetrics.LookupMessages.Record(result.MessagesSent);
        NodeLog.LookupFinished(_logger, target, elapsed.TotalMilliseconds, result.MessagesSent, result.Rounds, result.Closest.Count);
        return result;
    }

    private static List<NodeContact> CloserOf(Envelope envelope)
    {
        var closer = envelope.BodyCase switch
        {
            Envelope.BodyOneofCase.Nodes => envelope.Nodes.Closer,
            Envelope.BodyOneofCase.Value => envelope.Value.Closer,
            Envelope.BodyOneofCase.Providers => envelope.Providers.Closer,
            _ => null,
        };
        return closer is null ? [] : WireCodec.FromContacts(closer);
    }

    private static ByteString? TokenOf(Envelope envelope) => envelope.BodyCase switch
    {
        Envelope.BodyOneofCase.Nodes => envelope.Nodes.Token,
        Envelope.BodyOneofCase.Value => envelope.Value.Token,
        Envelope.BodyOneofCase.Providers => envelope.Providers.Token,
        _ => null,
    };

    /// <summary>A FIND_NODE lookup that also collects each answering peer's write token.</summary>
    private async Task<(LookupResult Lookup, Dictionary<NodeId, ByteString> Tokens)> LookupWithTokensAsync(NodeId key, CancellationToken cancellationToken)
    {
        var tokens = new Dictionary<NodeId, ByteString>();
        var lookup = await LookupAsync(
            key,
            () => new Envelope { FindNode = new FindNodeRequest { Target = WireCodec.ToBytes(key), WantToken = true } },
            response =>
            {
                if (TokenOf(response.Envelope) is { Length: > 0 } token)
                {
                    tokens[response.Sender.Id] = token;
                }

                return false;
            },
            cancellationToken).ConfigureAwait(false);
        return (lookup, tokens);
    }

    private Task<PutResult> StoreOnClosestAsync(DhtRecord record, CancellationToken cancellationToken) =>
        WriteToClosestAsync(
            record.Key,
            now => _records.Put(record.WithExpiry(Min(record.Expires, now + _options.RecordTtl)), now),
            token => new Envelope
            {
                Store = new StoreRequest { Key = WireCodec.ToBytes(record.Key), Record = WireCodec.ToWire(record, _time.GetUtcNow()), Token = token },
            },
            cancellationToken);

    private Task<PutResult> AnnounceProviderAsync(NodeId key, CancellationToken cancellationToken) =>
        WriteToClosestAsync(
            key,
            now => _providers.Add(new ProviderRecord(key, Id, LocalContact.EndPoint, now + _options.RecordTtl), now) ? StoreStatus.Ok : StoreStatus.Full,
            token => new Envelope
            {
                AddProvider = new AddProviderRequest { Key = WireCodec.ToBytes(key), Token = token, TtlSeconds = (uint)_options.RecordTtl.TotalSeconds },
            },
            cancellationToken);

    /// <summary>
    /// Finds the k closest nodes to <paramref name="key"/> with their write tokens, then writes to each: locally with
    /// <paramref name="writeLocal"/> (under the lock) when this node is among them, else with the request that
    /// <paramref name="request"/> builds around the node's token (retransmitted per RpcRetries).
    /// </summary>
    private async Task<PutResult> WriteToClosestAsync(NodeId key, Func<DateTimeOffset, StoreStatus> writeLocal, Func<ByteString, Envelope> request, CancellationToken cancellationToken)
    {
        var (lookup, tokens) = await LookupWithTokensAsync(key, cancellationToken).ConfigureAwait(false);
        var writes = new List<Task<StoreStatus?>>();
        foreach (var peer in lookup.Closest)
        {
            if (peer.Id == Id)
            {
                lock (_gate)
                {
                    writes.Add(Task.FromResult<StoreStatus?>(writeLocal(_time.GetUtcNow())));
                }
            }
            else if (tokens.TryGetValue(peer.Id, out var token))
            {
                writes.Add(WriteAsync(peer, request(token), cancellationToken));
            }
        }

        var statuses = await Task.WhenAll(writes).ConfigureAwait(false);
        var refused = statuses.Where(s => s is { } v && v != StoreStatus.Ok).GroupBy(s => ToRefusal(s!.Value)).ToDictionary(g => g.Key, g => g.Count());
        return new PutResult(key, statuses.Count(s => s == StoreStatus.Ok), refused.Values.Sum(), lookup) { RefusalsByStatus = refused };
    }

    /// <summary>Maps a refusing wire status to its public reason (the wire enum is internal to Kademlia).</summary>
    private static StoreRefusal ToRefusal(StoreStatus status) => status switch
    {
        StoreStatus.BadToken => StoreRefusal.BadToken,
        StoreStatus.BadSignature => StoreRefusal.BadSignature,
        StoreStatus.StaleSequence => StoreRefusal.StaleSequence,
        StoreStatus.Invalid => StoreRefusal.Invalid,
        StoreStatus.Full => StoreRefusal.Full,
        _ => StoreRefusal.Other,
    };

    /// <summary>Sends a STORE or ADD_PROVIDER with retries; the status answered, or null when unanswered.</summary>
    private async Task<StoreStatus?> WriteAsync(NodeContact peer, Envelope request, CancellationToken cancellationToken)
    {
        var response = await RequestWithRetriesAsync(peer.EndPoint, peer.Id, request, cancellationToken).ConfigureAwait(false);
        return response?.Envelope.BodyCase switch
        {
            Envelope.BodyOneofCase.Stored => response.Envelope.Stored.Status,
            Envelope.BodyOneofCase.ProviderAdded => response.Envelope.ProviderAdded.Status,
            _ => null,
        };
    }

    // ----- Maintenance -----

    private async Task MaintenanceLoopAsync(CancellationToken cancellationToken)
    {
        // A delay loop rather than PeriodicTimer: PeriodicTimer resumes its waiter asynchronously on the thread pool,
        // which would take a simulation's maintenance off its single thread.
        try
        {
            while (true)
            {
                await Delays.DelayAsync(_time, _options.MaintenanceInterval, cancellationToken).ConfigureAwait(false);
                try
                {
                    await MaintainAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // One failed round (a bug, or an I/O fault in a transport) must not end maintenance for good.
                    NodeLog.MaintenanceFailed(_logger, ex);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Shutdown.
        }
    }

    /// <summary>One maintenance round: expiry, self-lookup, bucket refresh, republish of our records and provider records, replication.</summary>
    private async Task MaintainAsync(CancellationToken cancellationToken)
    {
        var nowUtc = _time.GetUtcNow();
        var now = _time.GetTimestamp();
        List<DhtRecord> republish;
        List<NodeId> reprovide;
        List<DhtRecord> replicate = [];
        lock (_gate)
        {
            _records.Expire(nowUtc);
            _providers.Expire(nowUtc);
            foreach (var key in _published.Where(p => p.Value.Record!.Expires <= nowUtc).Select(p => p.Key).ToList())
            {
                _published.Remove(key);
            }

            republish = Due(_published, now).Select(p => p.Record!).ToList();
            reprovide = Due(_provided, now).Select(p => p.Key).ToList();
            if (_time.GetElapsedTime(_lastReplication) >= _options.ReplicationInterval)
            {
                _lastReplication = now;

                // Paper §2.5: a record re-stored here within the interval was just replicated by another holder, so
                // this node skips it; in steady state about one holder per record replicates each interval.
                replicate = _records.Snapshot()
                    .Where(r => !_published.ContainsKey(r.Key)
                        && (!_lastStoredHere.TryGetValue(r.Key, out var at) || _time.GetElapsedTime(at, now) >= _options.ReplicationInterval))
                    .ToList();
                foreach (var key in _lastStoredHere.Keys.Where(k => _records.Get(k, nowUtc) is null).ToList())
                {
                    _lastStoredHere.Remove(key);
                }
            }
        }

        if (_time.GetElapsedTime(Interlocked.Read(ref _lastSelfLookup)) >= _options.SelfLookupInterval)
        {
            await SelfLookupAsync(cancellationToken).ConfigureAwait(false);
        }

        await RefreshAsync(force: false, cancellationToken).ConfigureAwait(false);
        foreach (var record in republish.Concat(replicate))
        {
            await StoreOnClosestAsync(record, cancellationToken).ConfigureAwait(false);
        }

        foreach (var key in reprovide)
        {
            await AnnounceProviderAsync(key, cancellationToken).ConfigureAwait(false);
        }
    }

    private List<(NodeId Key, DhtRecord? Record)> Due(Dictionary<NodeId, Publication> publications, long now)
    {
        var due = new List<(NodeId, DhtRecord?)>();
        foreach (var (key, publication) in publications.ToList())
        {
            if (_time.GetElapsedTime(publication.LastPublished, now) >= _options.RepublishInterval)
            {
                publications[key] = publication with { LastPublished = now };
                due.Add((key, publication.Record));
            }
        }

        return due;
    }

    private Task<LookupResult> SelfLookupAsync(CancellationToken cancellationToken)
    {
        Interlocked.Exchange(ref _lastSelfLookup, _time.GetTimestamp());
        return FindNodeAsync(Id, cancellationToken);
    }

    /// <summary>Looks up a random ID in every bucket not looked up within the refresh interval (all of them when <paramref name="force"/>).</summary>
    private async Task RefreshAsync(bool force, CancellationToken cancellationToken)
    {
        List<int> stale;
        lock (_gate)
        {
            var staleBefore = force ? long.MaxValue : _time.GetTimestamp() - (long)(_options.BucketRefreshInterval.TotalSeconds * _time.TimestampFrequency);
            stale = _table.StaleBuckets(staleBefore);
        }

        foreach (var index in stale)
        {
            NodeId target;
            lock (_random)
            {
                target = Id.RandomInBucket(index, _random);
            }

            await FindNodeAsync(target, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>PINGs the head of a full bucket; it stays if it answers, else the newest replacement takes its place (paper §2.2).</summary>
    private async Task CheckEvictionCandidateAsync(NodeContact head)
    {
        var answer = await RequestWithRetriesAsync(head.EndPoint, head.Id, new Envelope { Ping = new PingRequest() }, _shutdown.Token).ConfigureAwait(false);
        lock (_gate)
        {
            _table.OnEvictionPing(head, answer is not null);
        }
    }

    private void RunInBackground(Func<Task> work)
    {
        if (Volatile.Read(ref _disposed) != 0)
        {
            return;
        }

        var task = Spawn(async () =>
        {
            try
            {
                await work().ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (_shutdown.IsCancellationRequested)
            {
                // Shutdown.
            }
            catch (Exception ex)
            {
                NodeLog.MaintenanceFailed(_logger, ex);
            }
        });
        _background.TryAdd(task, 0);
        task.ContinueWith(static (t, state) => ((ConcurrentDictionary<Task, byte>)state!).TryRemove(t, out _), _background, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    /// <summary>
    /// Starts <paramref name="work"/> from a zero-delay timer of the node's <see cref="TimeProvider"/>: on the thread
    /// pool with the system clock, and as an event on the simulation's thread in a simulation, so that a simulated run
    /// never leaves its thread and repeats exactly.
    /// </summary>
    private Task Spawn(Func<Task> work)
    {
        var started = new TaskCompletionSource<Task>();
        var state = new SpawnState(work, started);
        state.Timer = _time.CreateTimer(
            static s =>
            {
                var spawn = (SpawnState)s!;
                spawn.Timer?.Dispose();
                try
                {
                    spawn.Started.TrySetResult(spawn.Work());
                }
                catch (Exception ex)
                {
                    spawn.Started.TrySetException(ex);
                }
            },
            state,
            TimeSpan.Zero,
            Timeout.InfiniteTimeSpan);
        return started.Task.Unwrap();
    }

    /// <summary>Our own published record for <paramref name="key"/> while it lives; caller holds the lock.</summary>
    private DhtRecord? LivePublished(NodeId key) =>
        _published.TryGetValue(key, out var publication) && publication.Record!.Expires > _time.GetUtcNow() ? publication.Record : null;

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;

    /// <summary>One event of a lookup: a query answered (Response set) or failed (null), or passed its soft timeout.</summary>
    private readonly record struct LookupEvent(NodeContact Peer, RpcResponse? Response, bool Slow);

    /// <summary>Work to start from a timer; holds the timer so that it is not collected before it fires.</summary>
    private sealed class SpawnState(Func<Task> work, TaskCompletionSource<Task> started)
    {
        public Func<Task> Work { get; } = work;

        public TaskCompletionSource<Task> Started { get; } = started;

        public ITimer? Timer { get; set; }
    }

    /// <summary>Something this node publishes: a record (null for a provider announcement) and when it last went out.</summary>
    private sealed record Publication(DhtRecord? Record, long LastPublished);
}
