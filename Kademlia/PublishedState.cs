namespace Overlay.Kademlia;

/// <summary>What a node publishes: the records it put (re-stored every RepublishInterval until they expire) and the keys it provides (re-announced every RepublishInterval until the node stops providing them).</summary>
/// <param name="Records">Records this node put, each with its absolute expiry; at most one per key.</param>
/// <param name="ProvidedKeys">Keys this node announces itself as a provider of; distinct.</param>
public sealed record PublishedState(IReadOnlyList<DhtRecord> Records, IReadOnlyList<NodeId> ProvidedKeys)
{
    /// <summary>Nothing published.</summary>
    public static readonly PublishedState Empty = new([], []);
}
