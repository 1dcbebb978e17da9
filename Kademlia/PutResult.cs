namespace Overlay.Kademlia;

/// <summary>The outcome of storing a record or a provider record on the k closest nodes.</summary>
/// <param name="Key">The key stored under.</param>
/// <param name="StoredOn">How many nodes accepted it (0..k, plus the local node when it is among the k closest).</param>
/// <param name="Refusals">How many nodes answered with a refusal (bad token, stale sequence, full).</param>
/// <param name="Lookup">The lookup that found the closest nodes.</param>
public sealed record PutResult(NodeId Key, int StoredOn, int Refusals, LookupResult Lookup)
{
    /// <summary>
    /// Gets the refusals by the reason each node answered (<see cref="StoreRefusal.StaleSequence"/>,
    /// <see cref="StoreRefusal.BadToken"/>, ...; the local node's own refusal included); the counts sum to
    /// <see cref="Refusals"/>. Empty when nobody refused.
    /// </summary>
    public IReadOnlyDictionary<StoreRefusal, int> RefusalsByStatus { get; init; } = new Dictionary<StoreRefusal, int>();
}
