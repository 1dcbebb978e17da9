using Overlay.Kademlia;
using Overlay.Storage;

namespace Overlay.Node;

/// <summary>Maps content to the DHT: the one place that defines a CID's key.</summary>
internal static class ContentKeys
{
    /// <summary>
    /// Returns the DHT key under which providers of <paramref name="cid"/> are announced: SHA-256 of the CID's
    /// multihash (not of the whole CID), so the raw and dag-pb CIDs of the same bytes share providers, as in
    /// libp2p kad-dht, which keys provider records by multihash.
    /// </summary>
    /// <param name="cid">The content's CID.</param>
    /// <returns>The 256-bit key.</returns>
    public static NodeId Of(Cid cid)
    {
        ArgumentNullException.ThrowIfNull(cid);
        return NodeId.HashOf(cid.Multihash.Span);
    }
}
