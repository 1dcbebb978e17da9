using System.Collections.Concurrent;
using System.Net;
using Google.Protobuf;
using Overlay.Kademlia.Wire;

namespace Overlay.Kademlia.Internal;

/// <summary>
/// Updates the k-buckets from received messages (paper §2.2), for <see cref="RequestHandler"/>. A node enters only
/// once it has proven, for a fresh challenge and from the endpoint it is seen at, the private key of the ID it claims
/// (<see cref="IdentityProof"/>; ARCHITECTURE.md "Identity proofs"): a PONG carrying a valid proof enters its sender;
/// a proof remembered for that ID at that endpoint (<see cref="ProvenIdentities"/>) or a table entry there stands for
/// one; any other responder or requester is verified with a challenge PING, when its bucket has room or a stale head,
/// within per-address, in-flight and 3x caps. A full bucket keeps its old contacts: a proven newcomer waits as a
/// replacement while the head is PINGed and evicted if it fails.
/// </summary>
/// <remarks>Called on the transport's thread; the PINGs run in the background. Thread-safe: the table is touched under the node's lock.</remarks>
internal sealed class BucketUpdater
{
    /// <summary>
    /// How long a full bucket's head may go unheard before a newcomer is verified to replace it if dead: 30 min, half
    /// the bucket refresh interval, so a bucket in use normally hears from its head first. With 5 min, a 10,000-node
    /// swarm growing for 20 virtual minutes sent 70 % more datagrams for no gain (simulated).
    /// </summary>
    private static readonly TimeSpan StaleContactAge = TimeSpan.FromMinutes(30);

    /// <summary>How long a node verified at an endpoint is not verified there again: 10 min.</summary>
    private static readonly TimeSpan VerificationCooldown = TimeSpan.FromMinutes(10);

    /// <summary>
    /// The wait after an unsigned PONG before asking again, times the attempt number: 1 s, then 2 s. A prover signs
    /// one second's worth of proofs at most (<see cref="KademliaOptions.MaxIdentityProofsPerSecond"/>), so its budget
    /// has refilled by then unless a flood keeps it empty.
    /// </summary>
    private static readonly TimeSpan UnsignedRetryDelay = TimeSpan.FromSeconds(1);

    /// <summary>Challenge PINGs per verification at most (each with its retransmissions) while the PONGs come back unsigned: 3.</summary>
    private const int ProofAttempts = 3;

    // The shared references are copied from the context: the per-request path then reads each with one load, as it
    // did when this code was part of KademliaNode (it answers ~300 k requests/s on the receive thread).
    private readonly NodeContext _node;
    private readonly RpcClient _rpc;
    private readonly KademliaOptions _options;
    private readonly TimeProvider _time;
    private readonly object _gate;
    private readonly RoutingTable _table;
    private readonly SourceRateLimiter _verificationLimiter;
    private readonly ProvenIdentities _proven;
    private readonly ConcurrentDictionary<(NodeId, IPEndPoint), byte> _verifying = new();
    private readonly Dictionary<(NodeId, EndPointKey), long> _recentlyVerified = [];
    private readonly Queue<(NodeId, EndPointKey)> _verificationOrder = new();
    private long _proofsAccepted;
    private long _proofsRejected;

    /// <summary>Creates the updater.</summary>
    /// <param name="node">The node's shared state.</param>
    /// <param name="rpc">Sends the verification and eviction PINGs.</param>
    /// <param name="verificationLimiter">Caps verification PINGs per destination address (<see cref="KademliaOptions.MaxVerificationsPerMinutePerIp"/>).</param>
    public BucketUpdater(NodeContext node, RpcClient rpc, SourceRateLimiter verificationLimiter)
    {
        _node = node;
        _rpc = rpc;
        _options = node.Options;
        _time = node.Time;
        _gate = node.Gate;
        _table = node.Table;
        _verificationLimiter = verificationLimiter;
        _proven = new ProvenIdentities(_time.TimestampFrequency);
    }

    /// <summary>Gets the number of identity proofs that verified (their senders may enter the routing table).</summary>
    public long ProofsAccepted => Interlocked.Read(ref _proofsAccepted);

    /// <summary>Gets the number of identity proofs refused: a key whose SHA-256 is not the claimed ID, or a signature that does not verify for our challenge and ID.</summary>
    public long ProofsRejected => Interlocked.Read(ref _proofsRejected);

    /// <summary>
    /// Takes an answer to one of our requests. A valid proof in a PONG to our challenge, a remembered proof, or a table
    /// entry at the same endpoint lets <paramref name="sender"/> in (to the tail of its bucket; when the bucket is full
    /// it waits as a replacement and the head is PINGed in the background); any other sender is verified in the
    /// background (it answered, so its address receives: no 3x or per-address cap applies). Refusals for diversity are
    /// counted in <c>overlay.kademlia.routing.diversity_refusals</c>.
    /// </summary>
    /// <param name="sender">The responder: the ID it claims and the endpoint it answered from (the one we asked).</param>
    /// <param name="request">Our request it answers.</param>
    /// <param name="response">The answer.</param>
    public void OnAnswered(NodeContact sender, Envelope request, Envelope response)
    {
        var now = _time.GetTimestamp();
        bool proven;
        lock (_gate)
        {
            proven = _table.Holds(sender) || _proven.IsProven(sender.Id, sender.EndPoint, now);
        }

        var challenge = request.BodyCase == Envelope.BodyOneofCase.Ping ? request.Ping.Challenge : ByteString.Empty;
        if (!proven && challenge.Length == IdentityProof.ChallengeLength && !response.Pong.Signature.IsEmpty)
        {
            proven = IdentityProof.Verify(sender.Id, response.Pong.PublicKey.Span, response.Pong.Signature.Span, challenge.Span, _node.Id);
            Interlocked.Increment(ref proven ? ref _proofsAccepted : ref _proofsRejected);
            KademliaMetrics.IdentityProofs.Add(1, new KeyValuePair<string, object?>("outcome", proven ? "accepted" : "rejected"));
            if (!proven)
            {
                return;
            }

            lock (_gate)
            {
                // Remembered as proven, it needs no cooldown entry: it will not be verified again there for an hour.
                _proven.Add(sender.Id, sender.EndPoint, now);
                _recentlyVerified.Remove((sender.Id, EndPointKey.Of(sender.EndPoint)));
            }
        }

        if (!proven)
        {
            // Unproven, or an unsigned PONG to a challenge (the verification in flight asks again; a bootstrap PING's
            // starts one): verify it, which may let it in a round trip later. Lookups use it meanwhile.
            Verify(sender.EndPoint, sender.Id, int.MaxValue, now);
            return;
        }

        NodeContact? evictionCandidate;
        long refusedByDiversity;
        lock (_gate)
        {
            var before = _table.DiversityRefusals;
            evictionCandidate = _table.Update(sender, now);
            refusedByDiversity = _table.DiversityRefusals - before;
        }

        if (refusedByDiversity > 0)
        {
            KademliaMetrics.DiversityRefusals.Add(refusedByDiversity);
        }

        if (evictionCandidate is not null)
        {
            _node.RunInBackground(() => CheckEvictionCandidateAsync(evictionCandidate));
        }
    }

    /// <summary>
    /// Verifies an unknown requester with a challenge PING before it may enter the routing table (paper §2.2: any
    /// message from a node updates its bucket; here only once it proves its ID). See <see cref="Verify"/> for when.
    /// The PING goes to the request's source address, which a spoofer chooses: it is sent only within the per-address
    /// cap (<see cref="KademliaOptions.MaxVerificationsPerMinutePerIp"/>) and only when all its copies fit in what the
    /// 3x rule left of the request's allowance.
    /// </summary>
    /// <param name="remote">The request's source, normalized.</param>
    /// <param name="senderId">The ID the request claims.</param>
    /// <param name="spareBytes">Bytes we may still send to <paramref name="remote"/> for this request: 3x its size less our answer, or <see cref="int.MaxValue"/> when it echoed a valid address token.</param>
    public void OnRequest(IPEndPoint remote, NodeId senderId, int spareBytes) =>
        Verify(remote, senderId, spareBytes, _time.GetTimestamp());

    /// <summary>
    /// Starts a verification of <paramref name="id"/> at <paramref name="remote"/> when it is worth one: its bucket has
    /// room, or is full with a head not heard from for <see cref="StaleContactAge"/> (then the proven node goes to the
    /// replacement cache and triggers the PING of that head, which is replaced if dead: how new nodes displace departed
    /// ones under churn), or the ID is in the table at another endpoint (it moves once proven there). A full bucket of
    /// fresh contacts costs no PING. A node is verified at an endpoint at most once per
    /// <see cref="VerificationCooldown"/>: each verification PING is itself a request from a node the other side may
    /// not hold, so two nodes with full buckets would otherwise verify each other forever. Cooldowns and verifications
    /// in flight are kept per ID and endpoint, so an impostor claiming an ID cannot hold off the real node's verification.
    /// </summary>
    private void Verify(IPEndPoint remote, NodeId id, int spareBytes, long now)
    {
        var key = (id, remote);
        var cooldownKey = (id, EndPointKey.Of(remote));
        lock (_gate)
        {
            var worthVerifying = _table.HasRoomFor(id)
                || _table.Contains(id)
                || _table.HasStaleHead(id, now - (long)(StaleContactAge.TotalSeconds * _time.TimestampFrequency));
            if (!worthVerifying
                || _table.Holds(new NodeContact(id, remote))
                || _table.EndPointHeldByOther(remote, id)
                || (_recentlyVerified.TryGetValue(cooldownKey, out var at) && _time.GetElapsedTime(at, now) < VerificationCooldown))
            {
                return;
            }
        }

        if (_verifying.Count >= _options.MaxPendingVerifications || _verifying.ContainsKey(key))
        {
            return;
        }

        if (spareBytes != int.MaxValue)
        {
            // Every copy the PING may take (RpcRetries retransmissions) must fit in what is left of 3x the request.
            var ping = IdentityProof.NewPing();
            ping.TransactionId = 1;
            if ((long)_rpc.Stamp(remote, ping) * (1 + _options.RpcRetries) > spareBytes)
            {
                KademliaMetrics.VerificationsRefused.Add(1, new KeyValuePair<string, object?>("reason", "amplification"));
                return;
            }

            if (_options.MaxVerificationsPerMinutePerIp > 0
                && _verificationLimiter.TryAcquire(SourceKey.Of(remote), now) != RateDecision.Admitted)
            {
                KademliaMetrics.VerificationsRefused.Add(1, new KeyValuePair<string, object?>("reason", "rate"));
                return;
            }
        }

        lock (_gate)
        {
            RememberVerification(cooldownKey, now);
        }

        if (!_verifying.TryAdd(key, 0))
        {
            return;
        }

        _node.RunInBackground(async () =>
        {
            try
            {
                await ChallengeAsync(remote, id).ConfigureAwait(false);
            }
            catch (PendingTableFullException)
            {
                // Not verified this time; the node may be verified again after the cooldown.
            }
            finally
            {
                _verifying.TryRemove(key, out _);
            }
        });
    }

    /// <summary>
    /// Sends challenge PINGs to <paramref name="id"/> at <paramref name="remote"/> until one is answered with a proof
    /// (checked in <see cref="OnAnswered"/>), none is answered, or <see cref="ProofAttempts"/> PONGs came back unsigned.
    /// Each PING is retransmitted (RpcRetries copies, one RTO apart, answers to any counted): one RTO serves all peers,
    /// so a single try would never verify a node on a slow access link, which would then stay unknown to its
    /// neighbours (seen in simulation). An unsigned PONG means the prover's signature budget was spent; it answered,
    /// so its address receives, and asking again later amplifies nothing.
    /// </summary>
    private async Task ChallengeAsync(IPEndPoint remote, NodeId id)
    {
        for (var attempt = 1; ; attempt++)
        {
            var response = await _rpc.RequestWithRetriesAsync(remote, id, IdentityProof.NewPing(), _node.Shutdown.Token).ConfigureAwait(false);
            if (response is null || !response.Envelope.Pong.Signature.IsEmpty || attempt == ProofAttempts)
            {
                return;
            }

            await Delays.DelayAsync(_time, UnsignedRetryDelay * attempt, _node.Shutdown.Token).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Records a verification; forgets the oldest past 16 × MaxPendingVerifications entries (a forgotten or removed
    /// entry's place in the queue may later drop a newer entry for the same key early: it only allows one more PING).
    /// Caller holds the lock.
    /// </summary>
    private void RememberVerification((NodeId, EndPointKey) key, long now)
    {
        if (_recentlyVerified.TryAdd(key, now))
        {
            _verificationOrder.Enqueue(key);
        }

        _recentlyVerified[key] = now;
        while (_verificationOrder.Count > 16 * Math.Max(1, _options.MaxPendingVerifications))
        {
            _recentlyVerified.Remove(_verificationOrder.Dequeue());
        }
    }

    /// <summary>PINGs the head of a full bucket; it stays if it answers, else the newest replacement takes its place (paper §2.2).</summary>
    private async Task CheckEvictionCandidateAsync(NodeContact head)
    {
        bool answered;
        try
        {
            answered = await _rpc.RequestWithRetriesAsync(head.EndPoint, head.Id, new Envelope { Ping = new PingRequest() }, _node.Shutdown.Token).ConfigureAwait(false) is not null;
        }
        catch (PendingTableFullException)
        {
            // Not asked, so not failed: the head keeps its place.
            answered = true;
        }

        lock (_gate)
        {
            _table.OnEvictionPing(head, answered);
        }
    }
}
