namespace Overlay.Kademlia;

/// <summary>
/// The outcome of an iterative lookup (paper §2.3): the closest nodes that answered, and what it cost.
/// </summary>
/// <param name="Target">The key looked up.</param>
/// <param name="Closest">At most k contacts that answered, ascending XOR distance to <paramref name="Target"/>; includes the local node when it is among them.</param>
/// <param name="Rounds">Length of the longest chain of sequential queries (hops), the lookup's latency in round trips.</param>
/// <param name="MessagesSent">Requests sent by the lookup.</param>
/// <param name="Failures">Queries that timed out.</param>
/// <param name="Elapsed">Duration, as measured by the node's <see cref="TimeProvider"/>.</param>
public sealed record LookupResult(NodeId Target, IReadOnlyList<NodeContact> Closest, int Rounds, int MessagesSent, int Failures, TimeSpan Elapsed);
