using System.Collections.Concurrent;
using System.Net;
using Overlay.Kademlia.Wire;

namespace Overlay.Kademlia.Internal;

/// <summary>
/// Updates the k-buckets from received messages (paper §2.2), for <see cref="RequestHandler"/>: a node that answered
/// one of our requests enters its bucket, or waits as a replacement while the bucket's head is PINGed and evicted if
/// it fails; a node that sent us a request is first verified with a PING, within per-address and in-flight caps.
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

    /// <summary>How long a verified requester is not verified again: 10 min.</summary>
    private static readonly TimeSpan VerificationCooldown = TimeSpan.FromMinutes(10);

    // The shared references are copied from the context: the per-request path then reads each with one load, as it
    // did when this code was part of KademliaNode (it answers ~300 k requests/s on the receive thread).
    private readonly NodeContext _node;
    private readonly RpcClient _rpc;
    private readonly KademliaOptions _options;
    private readonly TimeProvider _time;
    private readonly object _gate;
    private readonly RoutingTable _table;
    private readonly SourceRateLimiter _verificationLimiter;
    private readonly ConcurrentDictionary<NodeId, byte> _verifying = new();
    private readonly Dictionary<NodeId, long> _recentlyVerified = [];
    private readonly Queue<NodeId> _verificationOrder = new();

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
    }

    /// <summary>
    /// Enters <paramref name="sender"/>, which answered one of our requests, in the routing table (ending any
    /// verification of it); when its bucket is full, PINGs the head in the background and keeps the sender as a
    /// replacement. Refusals for diversity are counted in <c>overlay.kademlia.routing.diversity_refusals</c>.
    /// </summary>
    /// <param name="sender">The responder: the ID it claims and the endpoint it answered from.</param>
    public void OnAnswered(NodeContact sender)
    {
        NodeContact? evictionCandidate;
        long refusedByDiversity;
        lock (_gate)
        {
            _verifying.TryRemove(sender.Id, out _);
            var before = _table.DiversityRefusals;
            evictionCandidate = _table.Update(sender, _time.GetTimestamp());
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
    /// Verifies an unknown requester with a PING before it may enter the routing table (paper §2.2: any message from a
    /// node updates its bucket), when its bucket has room, or is full with a head not heard from for
    /// <see cref="StaleContactAge"/>: then the answer goes to the replacement cache and triggers the PING of that head,
    /// which is replaced if dead. Under churn this is how new nodes displace departed ones; a full bucket of fresh
    /// contacts costs no PING. A node is verified at most once per <see cref="VerificationCooldown"/>: each verification
    /// PING is itself a request from a node the other side may not hold, so two nodes with full buckets would otherwise
    /// verify each other forever.
    /// </summary>
    /// <param name="remote">The request's source, normalized.</param>
    /// <param name="senderId">The ID the request claims.</param>
    public void OnRequest(IPEndPoint remote, NodeId senderId)
    {
        var now = _time.GetTimestamp();
        lock (_gate)
        {
            var worthVerifying = _table.HasRoomFor(senderId)
                || _table.HasStaleHead(senderId, now - (long)(StaleContactAge.TotalSeconds * _time.TimestampFrequency));
            if (!worthVerifying
                || _table.Contains(senderId)
                || _table.EndPointHeldByOther(remote, senderId)
                || (_recentlyVerified.TryGetValue(senderId, out var at) && _time.GetElapsedTime(at, now) < VerificationCooldown))
            {
                return;
            }
        }

        if (_verifying.Count >= _options.MaxPendingVerifications || _verifying.ContainsKey(senderId))
        {
            return;
        }

        // The PING goes to the request's source address, which a spoofer chooses: cap what one address receives.
        if (_options.MaxVerificationsPerMinutePerIp > 0
            && _verificationLimiter.TryAcquire(SourceKey.Of(remote), now) != RateDecision.Admitted)
        {
            KademliaMetrics.VerificationsRefused.Add(1);
            return;
        }

        lock (_gate)
        {
            RememberVerification(senderId, now);
        }

        if (!_verifying.TryAdd(senderId, 0))
        {
            return;
        }

        _node.RunInBackground(async () =>
        {
            try
            {
                // With retries (RpcRetries copies, one RTO apart, answers to any counted): one RTO serves all peers, so
                // a single try would never verify a node on a slow access link, which would then stay unknown to its
                // neighbours (seen in simulation).
                await _rpc.RequestWithRetriesAsync(remote, senderId, new Envelope { Ping = new PingRequest() }, _node.Shutdown.Token).ConfigureAwait(false);
            }
            catch (PendingTableFullException)
            {
                // Not verified this time; the requester may try again after the cooldown.
            }
            finally
            {
                _verifying.TryRemove(senderId, out _);
            }
        });
    }

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
