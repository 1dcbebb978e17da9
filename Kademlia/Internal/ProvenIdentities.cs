using System.Net;

namespace Overlay.Kademlia.Internal;

/// <summary>
/// The node IDs that proved their key (<see cref="IdentityProof"/>) and the endpoint each proved it from, so that a
/// node seen again at that endpoint within <see cref="Lifetime"/> (evicted and heard from again, or answering after its
/// entry failed out) enters the routing table with no new PING and no signature. A node at another endpoint proves
/// again. Holds at most <see cref="Capacity"/> entries, endpoints as values (no <see cref="IPEndPoint"/> kept alive);
/// when full, expired proofs are dropped, and if none had expired all are (forgetting only costs PINGs; an insertion
/// queue to drop the oldest cost 16 KiB more per node of a 1,000-node swarm). Sans-IO (monotonic timestamps passed in); not thread-safe: callers hold the node's lock.
/// </summary>
internal sealed class ProvenIdentities
{
    /// <summary>Most proofs remembered: 1,024 (~80 bytes each; a routing table of a 10,000-node swarm holds ~250 contacts).</summary>
    public const int Capacity = 1_024;

    /// <summary>How long a proof lets the same ID at the same endpoint back in: 1 h, the bucket refresh interval.</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromHours(1);

    private readonly Dictionary<NodeId, (EndPointKey EndPoint, long ProvenAt)> _proven = [];
    private readonly long _lifetimeTicks;

    /// <summary>Creates an empty cache.</summary>
    /// <param name="timestampFrequency">Ticks per second of the timestamps passed in (<see cref="TimeProvider.TimestampFrequency"/>).</param>
    public ProvenIdentities(long timestampFrequency)
    {
        _lifetimeTicks = (long)(Lifetime.TotalSeconds * timestampFrequency);
    }

    /// <summary>Gets the proofs remembered now.</summary>
    public int Count => _proven.Count;

    /// <summary>Records that <paramref name="id"/> proved its key from <paramref name="endPoint"/> at <paramref name="now"/>.</summary>
    /// <param name="id">The proven ID.</param>
    /// <param name="endPoint">The endpoint the proof came from (normalized).</param>
    /// <param name="now">Monotonic timestamp.</param>
    public void Add(NodeId id, IPEndPoint endPoint, long now)
    {
        if (_proven.Count >= Capacity && !_proven.ContainsKey(id))
        {
            foreach (var (held, proof) in _proven)
            {
                if (now - proof.ProvenAt >= _lifetimeTicks)
                {
                    _proven.Remove(held);
                }
            }

            if (_proven.Count >= Capacity)
            {
                _proven.Clear();
            }
        }

        _proven[id] = (EndPointKey.Of(endPoint), now);
    }

    /// <summary>Returns whether <paramref name="id"/> proved its key from <paramref name="endPoint"/> within <see cref="Lifetime"/>.</summary>
    /// <param name="id">The claimed ID.</param>
    /// <param name="endPoint">The endpoint it is seen at now (normalized).</param>
    /// <param name="now">Monotonic timestamp.</param>
    /// <returns>True when a live proof matches both.</returns>
    public bool IsProven(NodeId id, IPEndPoint endPoint, long now) =>
        _proven.TryGetValue(id, out var proof) && proof.EndPoint == EndPointKey.Of(endPoint) && now - proof.ProvenAt < _lifetimeTicks;
}
