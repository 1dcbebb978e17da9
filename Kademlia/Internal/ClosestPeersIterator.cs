namespace Overlay.Kademlia.Internal;

/// <summary>
/// The state of one iterative lookup (paper §2.3), sans-IO: it owns no socket and no clock. The driver asks
/// <see cref="TryGetNext"/> for peers to query (at most alpha in flight), reports each answer or failure, and stops
/// when <see cref="IsFinished"/>: the k closest peers seen that have not failed have all answered (or no peer is left
/// to ask). Peer states follow go-libp2p-kad-dht qpeerset: heard, waiting, queried (succeeded), unreachable (failed).
/// Not thread-safe: one lookup driver owns it.
/// </summary>
internal sealed class ClosestPeersIterator
{
    private readonly NodeId _target;
    private readonly int _k;
    private readonly int _alpha;
    private readonly int _maxPeers;
    private readonly List<Peer> _peers = [];
    private readonly Dictionary<NodeId, Peer> _byId = [];
    private int _waiting;

    /// <param name="target">The key looked up.</param>
    /// <param name="bucketSize">k: how many answered peers end the lookup.</param>
    /// <param name="alpha">Most queries in flight.</param>
    /// <param name="seeds">Starting peers (from the routing table), depth 1.</param>
    /// <param name="self">The local node: counted as an answered peer so that it appears in the result when it is among the closest, never queried.</param>
    public ClosestPeersIterator(NodeId target, int bucketSize, int alpha, IEnumerable<NodeContact> seeds, NodeContact? self)
    {
        _target = target;
        _k = bucketSize;
        _alpha = alpha;
        _maxPeers = bucketSize * 8;
        if (self is not null)
        {
            Insert(self, depth: 0).State = PeerState.Succeeded;
        }

        foreach (var seed in seeds)
        {
            // Seeds may repeat (e.g. routing table plus bootstrap contacts): a second copy would be queried and then
            // wait forever, since answers reach only the copy indexed by ID.
            if (!_byId.ContainsKey(seed.Id))
            {
                Insert(seed, depth: 1);
            }
        }
    }

    /// <summary>Peer states (go-libp2p-kad-dht qpeerset).</summary>
    public enum PeerState
    {
        /// <summary>Heard of, not yet queried.</summary>
        Heard,

        /// <summary>Query in flight.</summary>
        Waiting,

        /// <summary>Answered.</summary>
        Succeeded,

        /// <summary>Timed out or answered wrongly.</summary>
        Failed,
    }

    /// <summary>Requests sent so far.</summary>
    public int Queried { get; private set; }

    /// <summary>Queries that failed.</summary>
    public int Failures { get; private set; }

    /// <summary>Longest chain of sequential queries among the peers queried: the lookup's hop count.</summary>
    public int MaxDepth { get; private set; }

    /// <summary>Whether the k closest non-failed peers have all answered, or nothing is left to ask or wait for (slow peers included).</summary>
    public bool IsFinished
    {
        get
        {
            var succeeded = 0;
            foreach (var peer in _peers)
            {
                switch (peer.State)
                {
                    case PeerState.Succeeded when ++succeeded >= _k:
                        return true;
                    case PeerState.Heard or PeerState.Waiting:
                        return false;
                }
            }

            return _waiting == 0;
        }
    }

    /// <summary>
    /// Returns the next peer to query: the closest heard peer, when fewer than alpha queries are in flight and the
    /// lookup is not finished. The peer moves to <see cref="PeerState.Waiting"/>.
    /// </summary>
    public bool TryGetNext(out NodeContact contact, out int depth)
    {
        contact = null!;
        depth = 0;
        if (_waiting >= _alpha)
        {
            return false;
        }

        var succeeded = 0;
        foreach (var peer in _peers)
        {
            if (peer.State == PeerState.Succeeded && ++succeeded >= _k)
            {
                return false;
            }

            if (peer.State == PeerState.Heard)
            {
                peer.State = PeerState.Waiting;
                _waiting++;
                Queried++;
                MaxDepth = Math.Max(MaxDepth, peer.Depth);
                contact = peer.Contact;
                depth = peer.Depth;
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Records that the query to <paramref name="id"/> passed its soft timeout: it no longer counts against alpha, so
    /// another peer may be asked, but its answer is still taken if it comes (libtorrent's "short timeout"). A slow peer
    /// among the k closest still holds the lookup open until it answers or fails.
    /// </summary>
    public void OnSlow(NodeId id)
    {
        if (_byId.TryGetValue(id, out var peer) && peer.State == PeerState.Waiting && !peer.Slow)
        {
            peer.Slow = true;
            _waiting--;
        }
    }

    /// <summary>Records an answer from <paramref name="id"/> and the closer peers it named (depth + 1).</summary>
    public void OnSuccess(NodeId id, IEnumerable<NodeContact> closer)
    {
        if (!_byId.TryGetValue(id, out var peer) || peer.State != PeerState.Waiting)
        {
            return;
        }

        peer.State = PeerState.Succeeded;
        _waiting -= peer.Slow ? 0 : 1;
        foreach (var contact in closer)
        {
            if (_byId.TryGetValue(contact.Id, out var known))
            {
                known.Depth = Math.Min(known.Depth, peer.Depth + 1);
            }
            else
            {
                Insert(contact, peer.Depth + 1);
            }
        }
    }

    /// <summary>Records that the query to <paramref name="id"/> failed.</summary>
    public void OnFailure(NodeId id)
    {
        if (_byId.TryGetValue(id, out var peer) && peer.State == PeerState.Waiting)
        {
            peer.State = PeerState.Failed;
            _waiting -= peer.Slow ? 0 : 1;
            Failures++;
        }
    }

    /// <summary>Returns at most k answered peers, ascending XOR distance to the target.</summary>
    public List<NodeContact> Result()
    {
        var result = new List<NodeContact>(_k);
        foreach (var peer in _peers)
        {
            if (peer.State == PeerState.Succeeded)
            {
                result.Add(peer.Contact);
                if (result.Count == _k)
                {
                    break;
                }
            }
        }

        return result;
    }

    private Peer Insert(NodeContact contact, int depth)
    {
        var peer = new Peer(contact, contact.Id.DistanceTo(_target), depth);
        var index = _peers.BinarySearch(peer, PeerComparer.Instance);
        _peers.Insert(index < 0 ? ~index : index, peer);
        _byId[contact.Id] = peer;
        if (_peers.Count > _maxPeers)
        {
            // Bound memory: forget the farthest peer that was only heard of; it cannot be among the k closest
            // while maxPeers (8k) closer peers remain.
            for (var i = _peers.Count - 1; i >= _k; i--)
            {
                if (_peers[i].State == PeerState.Heard)
                {
                    _byId.Remove(_peers[i].Contact.Id);
                    _peers.RemoveAt(i);
                    break;
                }
            }
        }

        return peer;
    }

    private sealed class Peer(NodeContact contact, XorDistance distance, int depth)
    {
        public NodeContact Contact { get; } = contact;

        public XorDistance Distance { get; } = distance;

        public int Depth { get; set; } = depth;

        public PeerState State { get; set; }

        /// <summary>Whether the query passed its soft timeout (no longer counted in flight).</summary>
        public bool Slow { get; set; }
    }

    private sealed class PeerComparer : IComparer<Peer>
    {
        public static readonly PeerComparer Instance = new();

        public int Compare(Peer? x, Peer? y) => x!.Distance.CompareTo(y!.Distance);
    }
}
