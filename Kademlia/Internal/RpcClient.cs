using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using Google.Protobuf;
using Overlay.Kademlia.Wire;

namespace Overlay.Kademlia.Internal;

/// <summary>
/// The requesting side of a node: sends our requests under random 32-bit transaction ids, keeps each in the pending
/// table (at most <see cref="KademliaOptions.MaxPendingRequests"/>) until an answer matches it, retransmits it one
/// adaptive timeout apart and fails it after the last copy; samples round trips into the node's RFC 6298 estimator.
/// </summary>
/// <remarks>
/// Thread-safe: requests start on any thread, answers are matched on the transport's thread (by
/// <see cref="RequestHandler"/>), timers fire on the clock's. Each pending request completes exactly once, by whichever
/// of answer, timeout, cancellation or shutdown removes it from the table first.
/// </remarks>
internal sealed class RpcClient
{
    private readonly NodeContext _node;
    private readonly KademliaOptions _options;
    private readonly TimeProvider _time;
    private readonly Random _random;
    private readonly ByteString _senderId;
    private readonly RttEstimator _rtt;
    private readonly ConcurrentDictionary<uint, PendingRequest> _pending = new();
    private long _matched;
    private long _sent;
    private long _timeouts;
    private long _rpcRefused;
    private int _pendingCount;

    /// <summary>Creates the client with an empty pending table and an estimator at <see cref="KademliaOptions.RpcTimeoutInitial"/>.</summary>
    /// <param name="node">The node's shared state.</param>
    public RpcClient(NodeContext node)
    {
        _node = node;
        _options = node.Options;
        _time = node.Time;
        _random = node.Random;
        _senderId = node.SenderId;
        _rtt = new RttEstimator(_options.RpcTimeoutInitial, _options.RpcTimeoutMin, _options.RpcTimeoutMax);
    }

    /// <summary>Gets the adaptive retransmission timeout now: SRTT + max(1 ms, 4·RTTVAR), clamped to the configured range.</summary>
    public TimeSpan CurrentTimeout => _rtt.Timeout;

    /// <summary>Gets the number of answers matched to a pending request.</summary>
    public long Matched => Interlocked.Read(ref _matched);

    /// <summary>Gets the number of request datagrams sent, retransmissions included.</summary>
    public long Sent => Interlocked.Read(ref _sent);

    /// <summary>Gets the number of requests that failed unanswered after their last copy.</summary>
    public long Timeouts => Interlocked.Read(ref _timeouts);

    /// <summary>Gets the number of requests not sent because the pending table was full.</summary>
    public long RpcRefused => Interlocked.Read(ref _rpcRefused);

    /// <summary>Gets the number of requests awaiting an answer now.</summary>
    public int PendingCount => Volatile.Read(ref _pendingCount);

    /// <summary>Sends PING with an identity challenge to <paramref name="endPoint"/> with retries; the facade's <see cref="KademliaNode.PingAsync"/>.</summary>
    /// <param name="endPoint">The node's UDP endpoint.</param>
    /// <param name="cancellationToken">Cancels the PING.</param>
    /// <returns>The outcome; unanswered (or not sent, the pending table being full) is <see cref="PingResult.Success"/> = false.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="endPoint"/> is null (in the returned task).</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<PingResult> PingAsync(IPEndPoint endPoint, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        endPoint = WireCodec.Normalize(endPoint);
        RpcResponse? response;
        try
        {
            // With a challenge: a node that proves its key enters the routing table on this one round trip (bootstrap).
            response = await RequestWithRetriesAsync(endPoint, null, IdentityProof.NewPing(), cancellationToken).ConfigureAwait(false);
        }
        catch (PendingTableFullException)
        {
            response = null;
        }

        if (response is null)
        {
            return new PingResult(endPoint, false, null, TimeSpan.Zero, null);
        }

        var pong = response.Envelope.Pong;
        WireCodec.TryEndPoint(pong.ObservedIp, pong.ObservedPort, out var observed);
        return new PingResult(endPoint, true, response.Sender.Id, response.RoundTrip, observed is null ? null : WireCodec.Normalize(observed));
    }

    /// <summary>A direct RPC (PING, STORE, ADD_PROVIDER): the adaptive timeout, and <see cref="KademliaOptions.RpcRetries"/> retransmissions.</summary>
    /// <param name="endPoint">The destination.</param>
    /// <param name="expectedId">The responder's ID when known (an answer from another ID does not match), else null.</param>
    /// <param name="request">The request body; version, sender id and transaction id are set here.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>The answer, or null when unanswered or when the node stops.</returns>
    /// <exception cref="PendingTableFullException">The pending table is full; nothing was sent.</exception>
    public Task<RpcResponse?> RequestWithRetriesAsync(IPEndPoint endPoint, NodeId? expectedId, Envelope request, CancellationToken cancellationToken) =>
        RequestAsync(endPoint, expectedId, request, _rtt.Timeout, _options.RpcRetries, cancellationToken);

    /// <summary>
    /// Sends one request and waits for its answer; null when unanswered or when the node stops. Unanswered after
    /// <paramref name="timeout"/>, the same datagram (same transaction id, so an answer to any copy counts) is sent
    /// again, up to <paramref name="retransmits"/> times, one <paramref name="timeout"/> apart; the request fails
    /// (1 + <paramref name="retransmits"/>) × <paramref name="timeout"/> after the first copy. Not RFC 6298 §5.5's
    /// doubling: one datagram per peer per timeout adds no congestion worth backing off from, and the same deadline
    /// with one more copy is what makes lookups survive 5 % loss (ARCHITECTURE.md, "Timeouts and retransmission").
    /// Round trips of retransmitted requests are not sampled (Karn's algorithm, RFC 6298 §3).
    /// </summary>
    /// <param name="endPoint">The destination.</param>
    /// <param name="expectedId">The responder's ID when known, else null.</param>
    /// <param name="request">The request body; version, sender id and transaction id are set here.</param>
    /// <param name="timeout">The wait after each copy.</param>
    /// <param name="retransmits">Copies after the first.</param>
    /// <param name="cancellationToken">Cancels the wait; the task then ends cancelled.</param>
    /// <returns>The answer, or null.</returns>
    /// <exception cref="PendingTableFullException">The pending table is full; nothing was sent.</exception>
    public async Task<RpcResponse?> RequestAsync(IPEndPoint endPoint, NodeId? expectedId, Envelope request, TimeSpan timeout, int retransmits, CancellationToken cancellationToken)
    {
        if (_node.IsDisposed)
        {
            return null;
        }

        if (Interlocked.Increment(ref _pendingCount) > _options.MaxPendingRequests)
        {
            Interlocked.Decrement(ref _pendingCount);
            Interlocked.Increment(ref _rpcRefused);
            KademliaMetrics.RpcRefused.Add(1);
            throw new PendingTableFullException(_options.MaxPendingRequests);
        }

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
            pending = new PendingRequest(transactionId, endPoint, expectedId, expectedBody, _time.GetTimestamp(), _node.Transport.RequiresAsynchronousContinuations)
            {
                Request = request,
                Timeout = timeout,
                RetransmitsLeft = retransmits,
            };
        }
        while (!_pending.TryAdd(pending.TransactionId, pending));

        var size = Stamp(endPoint, request);

        pending.Timer = _time.CreateTimer(
            static state =>
            {
                var (client, request) = ((RpcClient, PendingRequest))state!;
                client.OnRequestTimer(request);
            },
            (this, pending),
            timeout,
            Timeout.InfiniteTimeSpan);
        Interlocked.Increment(ref _sent);
        _node.Send(endPoint, request, size);
        using (cancellationToken.Register(static state =>
        {
            var (client, request, token) = ((RpcClient, PendingRequest, CancellationToken))state!;
            if (client.RemovePending(request.TransactionId))
            {
                request.Cancel(token);
            }
        }, (this, pending, cancellationToken)))
        {
            return await pending.Task.ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Sets the fields every request of ours carries besides its body and transaction id: version, sender ID, and for
    /// the 3x rule the address token <paramref name="endPoint"/> handed us when one is fresh
    /// (<see cref="PeerAddressTokens"/>), else padding to <see cref="WireCodec.PaddedRequestBytes"/> when the answer
    /// may be large, so that even a first contact is answered in full in one round trip.
    /// </summary>
    /// <param name="endPoint">The destination.</param>
    /// <param name="request">The request; its transaction id should be set first (it changes the size).</param>
    /// <returns>The request's encoded size, bytes.</returns>
    public int Stamp(IPEndPoint endPoint, Envelope request)
    {
        request.Version = WireCodec.ProtocolVersion;
        request.SenderId = _senderId;
        Span<byte> token = stackalloc byte[WriteTokens.Length];
        if (_node.PeerTokens.TryGet(endPoint, _time.GetTimestamp(), token))
        {
            request.AddressToken = ByteString.CopyFrom(token);
            request.Padding = ByteString.Empty;
        }
        else
        {
            request.AddressToken = ByteString.Empty;
            if (WireCodec.HasLargeAnswer(request.BodyCase))
            {
                WireCodec.Pad(request);
            }
        }

        return request.CalculateSize();
    }

    /// <summary>
    /// Takes the pending request that <paramref name="envelope"/> answers out of the table: same transaction id, from
    /// the endpoint asked, with the expected body and (when known) sender ID. Counts the match and samples its round
    /// trip unless the request was retransmitted (Karn). The caller then completes the request.
    /// </summary>
    /// <param name="remote">The answer's source, normalized.</param>
    /// <param name="senderId">The ID the answer claims.</param>
    /// <param name="envelope">The decoded answer.</param>
    /// <param name="roundTrip">Time from the first copy of the request to this answer; zero when unmatched.</param>
    /// <returns>The request answered, or null for an unsolicited datagram.</returns>
    public PendingRequest? TakeMatching(IPEndPoint remote, NodeId senderId, Envelope envelope, out TimeSpan roundTrip)
    {
        if (!_pending.TryGetValue(envelope.TransactionId, out var pending)
            || !pending.Matches(remote, senderId, envelope.BodyCase)
            || !RemovePending(envelope.TransactionId))
        {
            roundTrip = TimeSpan.Zero;
            return null;
        }

        Interlocked.Increment(ref _matched);
        roundTrip = _time.GetElapsedTime(pending.SentAt);
        if (!pending.Retransmitted)
        {
            _rtt.AddSample(roundTrip);
        }

        return pending;
    }

    /// <summary>Completes every pending request as unanswered (on shutdown).</summary>
    public void FailAllPending()
    {
        foreach (var pending in _pending.Values)
        {
            if (RemovePending(pending.TransactionId))
            {
                pending.Complete(null);
            }
        }
    }

    /// <summary>On each timeout of a pending request: sends the next copy, or fails the request after the last.</summary>
    private void OnRequestTimer(PendingRequest request)
    {
        if (!_pending.ContainsKey(request.TransactionId))
        {
            return;
        }

        if (request.RetransmitsLeft > 0 && !_node.IsDisposed)
        {
            request.RetransmitsLeft--;
            request.Retransmitted = true;
            Interlocked.Increment(ref _sent);
            _node.Send(request.EndPoint, request.Request, request.Request.CalculateSize());
            request.Timer?.Change(request.Timeout, Timeout.InfiniteTimeSpan);
            return;
        }

        if (RemovePending(request.TransactionId))
        {
            Interlocked.Increment(ref _timeouts);
            KademliaMetrics.RpcTimeouts.Add(1);
            request.Complete(null);
        }
    }

    /// <summary>Removes a request from the pending table; true when this call removed it (and so owns its completion).</summary>
    private bool RemovePending(uint transactionId)
    {
        if (!_pending.TryRemove(transactionId, out _))
        {
            return false;
        }

        Interlocked.Decrement(ref _pendingCount);
        return true;
    }

    /// <summary>Returns the body type that answers a request body type.</summary>
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
}
