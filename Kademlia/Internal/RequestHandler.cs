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
/// <see cref="BucketUpdater"/>: a node enters the routing table only once it has proven its key
/// (<see cref="IdentityProof"/>); this side signs our own proofs within a signature budget. Every answer carries an
/// address token for the requester, and a request that does not echo a valid one is answered within 3x its own size
/// (RFC 9000 §8.1, ARCHITECTURE.md "Address validation").
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
    private readonly WriteTokens _addressTokens;
    private readonly SourceRateLimiter _requestLimiter;
    private readonly SourceRateLimiter _signatureLimiter;
    private readonly BucketUpdater _buckets;
    private long _received;
    private long _dropped;
    private long _served;
    private long _requestsRefused;
    private long _answersTrimmed;
    private long _pongsUnsigned;

    /// <summary>
    /// Creates the handler: fresh write-token and address-token secrets, the request and verification rate limiters,
    /// each seeded from one draw of the node's <see cref="NodeContext.Random"/> (request limiter first, the order of
    /// the draws before the split into parts, which keeps seeded simulations repeating their figures), and the
    /// signature budget (<see cref="KademliaOptions.MaxIdentityProofsPerSecond"/>; one bucket, no draw).
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
        _addressTokens = new WriteTokens(_time, () => RandomNumberGenerator.GetBytes(32));
        var now = _time.GetTimestamp();
        _requestLimiter = new SourceRateLimiter(
            _options.MaxRequestsPerSecondPerIp, _options.MaxRequestsPerSecondPerIp, _options.MaxRequestsPerSecond, _options.MaxRequestsPerSecond, MaxTrackedSources, _time.TimestampFrequency, now, (ulong)node.Random.NextInt64());
        var verificationLimiter = new SourceRateLimiter(
            _options.MaxVerificationsPerMinutePerIp / 60.0, _options.MaxVerificationsPerMinutePerIp, 0, 0, MaxTrackedSources, _time.TimestampFrequency, now, (ulong)node.Random.NextInt64());
        _signatureLimiter = new SourceRateLimiter(
            0, 0, _options.MaxIdentityProofsPerSecond, _options.MaxIdentityProofsPerSecond, 1, _time.TimestampFrequency, now);
        _buckets = new BucketUpdater(node, rpc, verificationLimiter);
    }

    /// <summary>Gets the verification side: identity proofs accepted and rejected.</summary>
    public BucketUpdater Buckets => _buckets;

    /// <summary>Gets the number of answers trimmed, or not sent, to stay within 3x the size of a request that echoed no valid address token.</summary>
    public long AnswersTrimmed => Interlocked.Read(ref _answersTrimmed);

    /// <summary>Gets the number of PONGs to a challenge sent without a proof: signature budget spent, or no room within 3x the PING.</summary>
    public long PongsUnsigned => Interlocked.Read(ref _pongsUnsigned);

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
                OnRequest(remote, senderId, envelope, datagram.Length);
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
        _node.PeerTokens.Remember(remote, envelope.AddressToken.Span, _time.GetTimestamp());
        _buckets.OnAnswered(sender, pending.Request, envelope);
        pending.Complete(new RpcResponse(envelope, sender, roundTrip));
    }

    /// <summary>
    /// Answers a request unless its source is over a rate limit; a request with a malformed key or target is dropped.
    /// The answer carries the requester's address token; unless the request echoed a valid one, the answer is held to
    /// 3x <paramref name="length"/> (contacts, providers, a record or a PONG's proof left out as needed, and no answer
    /// when even that does not fit), and what is left of that budget bounds a verification PING to the requester.
    /// </summary>
    private void OnRequest(IPEndPoint remote, NodeId senderId, Envelope request, int length)
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

        Span<byte> addressToken = stackalloc byte[WriteTokens.Length];
        var validated = _addressTokens.IssueAndCheck(remote, request.AddressToken.Span, addressToken);
        var allowance = validated ? int.MaxValue : WireCodec.AmplificationFactor * length;
        var limit = Math.Min(KademliaOptions.MaxDatagramBytes, allowance);
        var now = _time.GetUtcNow();
        var response = new Envelope
        {
            Version = WireCodec.ProtocolVersion,
            TransactionId = request.TransactionId,
            SenderId = _senderId,
            AddressToken = ByteString.CopyFrom(addressToken),
        };
        switch (request.BodyCase)
        {
            case Envelope.BodyOneofCase.Ping:
                response.Pong = new PingResponse
                {
                    ObservedIp = UnsafeByteOperations.UnsafeWrap(remote.Address.GetAddressBytes()),
                    ObservedPort = (uint)remote.Port,
                };
                if (request.Ping.Challenge.Length == IdentityProof.ChallengeLength)
                {
                    Prove(response, request.Ping.Challenge.Span, senderId, limit);
                }

                break;
            case Envelope.BodyOneofCase.FindNode:
                if (!NodeId.TryFromBytes(request.FindNode.Target.Span, out var target))
                {
                    Drop(remote, "bad-target");
                    return;
                }

                // The hot answer of every lookup: written from the contacts' cached encodings, not through Envelope.
                var answered = AnswerFindNode(remote, request.TransactionId, target, request.FindNode.WantToken, addressToken, limit);
                CountServed(request.BodyCase);
                _buckets.OnRequest(remote, senderId, validated ? int.MaxValue : allowance - answered);
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

        var size = FitToLimit(response, limit);
        if (size < 0)
        {
            // Not even the bare answer fits 3x the request. A request with a 32-byte sender ID is at least 38 bytes
            // (114 allowed) and a bare answer at most 75 (a PONG to IPv6), so this guards the rule, not a known case.
            Drop(remote, "amplification");
            return;
        }

        CountServed(request.BodyCase);
        _node.Send(remote, response, size);
        _buckets.OnRequest(remote, senderId, validated ? int.MaxValue : allowance - size);
    }

    /// <summary>
    /// Adds the identity proof to a PONG (<see cref="IdentityProof"/>: our public key and a signature over the challenge
    /// and the verifier's ID) when it fits <paramref name="limit"/> and the signature budget has a token; otherwise the
    /// PONG goes unsigned, is counted, and the verifier asks again later. The budget bounds the signing work a flood can
    /// cause in all; per source, PINGs are bounded by the request limiter like any request.
    /// </summary>
    private void Prove(Envelope response, ReadOnlySpan<byte> challenge, NodeId verifier, int limit)
    {
        if (response.CalculateSize() + ProofBytes > limit
            || _signatureLimiter.TryAcquire(default, _time.GetTimestamp()) != RateDecision.Admitted)
        {
            Interlocked.Increment(ref _pongsUnsigned);
            KademliaMetrics.PongsUnsigned.Add(1);
            return;
        }

        response.Pong.PublicKey = UnsafeByteOperations.UnsafeWrap(_node.Identity.PublicKey);
        response.Pong.Signature = UnsafeByteOperations.UnsafeWrap(IdentityProof.Sign(_node.Identity, challenge, verifier));
    }

    /// <summary>What a proof adds to a PONG, bytes: the key field (1 + 1 + 32) and the signature field (1 + 1 + 64).</summary>
    private const int ProofBytes = 2 + NodeIdentity.PublicKeyLength + 2 + NodeIdentity.SignatureLength;

    /// <summary>Counts an answered request (<c>overlay.kademlia.requests.served</c>, tagged by type).</summary>
    private void CountServed(Envelope.BodyOneofCase request)
    {
        Interlocked.Increment(ref _served);
        KademliaMetrics.RequestsServed.Add(1, new KeyValuePair<string, object?>("rpc", RpcTag(request)));
    }

    /// <summary>
    /// Writes the NODES answer (k closest, the address token, a write token when asked) from the contacts' cached
    /// encodings into a stack buffer of <paramref name="limit"/> bytes, leaving out the farthest contacts that do not
    /// fit, and sends it; returns its size in bytes.
    /// </summary>
    private int AnswerFindNode(IPEndPoint remote, uint transactionId, NodeId target, bool wantToken, ReadOnlySpan<byte> addressToken, int limit)
    {
        List<RoutingEntry> closest;
        lock (_gate)
        {
            closest = _table.ClosestEntries(target, _options.BucketSize);
        }

        // limit >= 3 x 38 = 114 bytes (the smallest request with a 32-byte sender ID), above the 64 bytes of an answer
        // with no contact, so Write never runs out of room for the header.
        Span<byte> buffer = stackalloc byte[KademliaOptions.MaxDatagramBytes];
        var size = NodesAnswer.Write(buffer[..limit], transactionId, _senderId.Span, addressToken, closest, wantToken ? _tokens.Issue(remote) : default, out var written);
        if (written < closest.Count && limit < KademliaOptions.MaxDatagramBytes)
        {
            Interlocked.Increment(ref _answersTrimmed);
        }

        _transport.Send(remote, buffer[..size]);
        return size;
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
    /// Trims the farthest contacts, then the last providers, then a record (a PONG's proof is added only when it fits), until the envelope
    /// fits <paramref name="limit"/> bytes (one datagram, or 3x an unvalidated request); returns its encoded size in
    /// bytes (Google.Protobuf does not cache sizes, and computing one walks every contact), or -1 when even the bare
    /// answer does not fit. Anything trimmed below a full datagram is counted in <see cref="AnswersTrimmed"/>.
    /// </summary>
    private int FitToLimit(Envelope envelope, int limit)
    {
        var size = FitToDatagram(envelope, limit);
        if (size > limit && envelope.BodyCase == Envelope.BodyOneofCase.Value && envelope.Value.Record is not null)
        {
            envelope.Value.Record = null;
            size = envelope.CalculateSize();
        }

        return size <= limit ? size : -1;
    }

    /// <summary>
    /// Trims the farthest contacts, then the last providers, until the envelope fits <paramref name="limit"/> bytes or
    /// has none left; returns its encoded size in bytes, counting a trim below a full datagram.
    /// </summary>
    private int FitToDatagram(Envelope envelope, int limit)
    {
        var closer = envelope.BodyCase switch
        {
            Envelope.BodyOneofCase.Value => envelope.Value.Closer,
            Envelope.BodyOneofCase.Providers => envelope.Providers.Closer,
            _ => null,
        };
        var size = envelope.CalculateSize();
        if (size > limit && limit < KademliaOptions.MaxDatagramBytes)
        {
            Interlocked.Increment(ref _answersTrimmed);
        }

        while (size > limit && closer is { Count: > 0 })
        {
            closer.RemoveAt(closer.Count - 1);
            size = envelope.CalculateSize();
        }

        var providers = envelope.BodyCase == Envelope.BodyOneofCase.Providers ? envelope.Providers.Providers : null;
        while (size > limit && providers is { Count: > 0 })
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
