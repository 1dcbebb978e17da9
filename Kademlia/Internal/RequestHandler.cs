using System.Net;
using System.Security.Cryptography;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using Overlay.Kademlia.Wire;

namespace Overlay.Kademlia.Internal;

/// <summary>
/// The receiving side of a node, run on the transport's thread: decodes each datagram (dropping and counting what is
/// malformed, of another version or unknown), hands answers to <see cref="RpcClient"/>, and answers requests (PING,
/// FIND_NODE, FIND_VALUE, STORE, ADD_PROVIDER, GET_PROVIDERS) within the per-source and global rate limits
/// (<see cref="SourceRateLimiter"/>), issuing and checking write tokens (BEP 5). The senders of both go to its
/// <see cref="BucketUpdater"/>: responders enter the routing table, unknown requesters are verified with a PING.
/// </summary>
/// <remarks>
/// Answering FIND_NODE is the node's hot path (~300 k/s on one receive thread, Bench/RESULTS.md): it writes the answer
/// from the contacts' cached encodings into a stack buffer, with no allocation but the closest-k list. Thread-safe: the
/// routing table and stores are read and written under the node's lock; counters are interlocked.
/// </remarks>
internal sealed class RequestHandler
{
    /// <summary>Most request sources whose rate is tracked at once (~100 bytes each); past it fresh sources share one bucket.</summary>
    private const int MaxTrackedSources = 65_536;

    // The shared references are copied from the context: the per-request path then reads each with one load, as it
    // did when this code was part of KademliaNode (it answers ~300 k requests/s on the receive thread).
    private readonly NodeContext _node;
    private readonly RpcClient _rpc;
    private readonly IMessageTransport _transport;
    private readonly NodeId _id;
    private readonly ByteString _senderId;
    private readonly KademliaOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly object _gate;
    private readonly RoutingTable _table;
    private readonly RecordStore _records;
    private readonly ProviderStore _providers;
    private readonly WriteTokens _tokens;
    private readonly SourceRateLimiter _requestLimiter;
    private readonly BucketUpdater _buckets;
    private long _received;
    private long _dropped;
    private long _served;
    private long _requestsRefused;

    /// <summary>
    /// Creates the handler: fresh write-token secrets, and the request and verification rate limiters, each seeded
    /// from one draw of the node's <see cref="NodeContext.Random"/> (request limiter first, the order of the draws
    /// before the split into parts, which keeps seeded simulations repeating their figures).
    /// </summary>
    /// <param name="node">The node's shared state.</param>
    /// <param name="rpc">The node's requesting side: answers go to it, and verification PINGs through it.</param>
    public RequestHandler(NodeContext node, RpcClient rpc)
    {
        _node = node;
        _rpc = rpc;
        _transport = node.Transport;
        _id = node.Id;
        _senderId = node.SenderId;
        _options = node.Options;
        _time = node.Time;
        _logger = node.Logger;
        _gate = node.Gate;
        _table = node.Table;
        _records = node.Records;
        _providers = node.Providers;
        _tokens = new WriteTokens(_time, () => RandomNumberGenerator.GetBytes(32));
        var now = _time.GetTimestamp();
        _requestLimiter = new SourceRateLimiter(
            _options.MaxRequestsPerSecondPerIp, _options.MaxRequestsPerSecondPerIp, _options.MaxRequestsPerSecond, _options.MaxRequestsPerSecond, MaxTrackedSources, _time.TimestampFrequency, now, (ulong)node.Random.NextInt64());
        var verificationLimiter = new SourceRateLimiter(
            _options.MaxVerificationsPerMinutePerIp / 60.0, _options.MaxVerificationsPerMinutePerIp, 0, 0, MaxTrackedSources, _time.TimestampFrequency, now, (ulong)node.Random.NextInt64());
        _buckets = new BucketUpdater(node, rpc, verificationLimiter);
    }

    /// <summary>Gets the number of datagrams delivered to the node.</summary>
    public long Received => Interlocked.Read(ref _received);

    /// <summary>Gets the number of datagrams dropped (malformed, wrong version, unsolicited, over a rate limit, ...).</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Gets the number of requests answered.</summary>
    public long Served => Interlocked.Read(ref _served);

    /// <summary>Gets the number of requests dropped unanswered over a rate limit.</summary>
    public long RequestsRefused => Interlocked.Read(ref _requestsRefused);

    /// <summary>Receives one datagram (the transport's <see cref="DatagramHandler"/>); never throws on its content.</summary>
    /// <param name="remote">The sender's endpoint.</param>
    /// <param name="datagram">The datagram; valid only during the call.</param>
    public void OnDatagram(IPEndPoint remote, ReadOnlySpan<byte> datagram)
    {
        Interlocked.Increment(ref _received);
        KademliaMetrics.DatagramsReceived.Add(1);
        if (_node.IsDisposed)
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

        if (!NodeId.TryFromBytes(envelope.SenderId.Span, out var senderId) || senderId == _id)
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

    /// <summary>Completes the request an answer matches, after its sender goes to the routing table (only nodes that answered us enter it).</summary>
    private void OnResponse(IPEndPoint remote, NodeId senderId, Envelope envelope)
    {
        var pending = _rpc.TakeMatching(remote, senderId, envelope, out var roundTrip);
        if (pending is null)
        {
            Drop(remote, "unsolicited");
            return;
        }

        var sender = new NodeContact(senderId, remote);
        _buckets.OnAnswered(sender);
        pending.Complete(new RpcResponse(envelope, sender, roundTrip));
    }

    /// <summary>Answers a request unless its source is over a rate limit; a request with a malformed key or target is dropped.</summary>
    private void OnRequest(IPEndPoint remote, NodeId senderId, Envelope request)
    {
        if (!_requestLimiter.IsUnlimited)
        {
            var decision = _requestLimiter.TryAcquire(SourceKey.Of(remote), _time.GetTimestamp());
            if (decision != RateDecision.Admitted)
            {
                // Dropped unanswered (OpenDHT does the same): an answer is up to ~14x a request's bytes, so answering a
                // flood would amplify it towards whatever source address the flood claims.
                var reason = decision == RateDecision.SourceLimited ? "rate-source" : "rate-global";
                Interlocked.Increment(ref _requestsRefused);
                KademliaMetrics.RequestsRefused.Add(1, new KeyValuePair<string, object?>("reason", reason));
                Drop(remote, reason);
                return;
            }
        }

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
                CountServed(request.BodyCase);
                _buckets.OnRequest(remote, senderId);
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
                    held = _records.Get(valueKey, now) ?? _node.LivePublished(valueKey);
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

        CountServed(request.BodyCase);
        response.Version = WireCodec.ProtocolVersion;
        response.TransactionId = request.TransactionId;
        response.SenderId = _senderId;
        _node.Send(remote, response, FitToDatagram(response));
        _buckets.OnRequest(remote, senderId);
    }

    /// <summary>Counts an answered request (<c>overlay.kademlia.requests.served</c>, tagged by type).</summary>
    private void CountServed(Envelope.BodyOneofCase request)
    {
        Interlocked.Increment(ref _served);
        KademliaMetrics.RequestsServed.Add(1, new KeyValuePair<string, object?>("rpc", RpcTag(request)));
    }

    /// <summary>Writes the NODES answer (k closest, with a write token when asked) from the contacts' cached encodings into a stack buffer and sends it.</summary>
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

    /// <summary>Checks a STORE (token, key, record, signature, expiry) and stores the record; returns the status to answer.</summary>
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
                _node.LastStoredHere[record.Key] = _time.GetTimestamp();
            }

            return status;
        }
    }

    /// <summary>Checks an ADD_PROVIDER (token, key, TTL) and stores the sender at its observed endpoint as a provider; returns the status to answer.</summary>
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

    /// <summary>Returns the wire contacts of the k closest nodes to <paramref name="target"/> in the routing table.</summary>
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

    /// <summary>Counts and logs a dropped datagram (<c>overlay.kademlia.datagrams.dropped</c>, tagged by reason).</summary>
    private void Drop(IPEndPoint remote, string reason)
    {
        Interlocked.Increment(ref _dropped);
        KademliaMetrics.DatagramsDropped.Add(1, new KeyValuePair<string, object?>("reason", reason));
        NodeLog.Dropped(_logger, remote, reason);
    }

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
}
