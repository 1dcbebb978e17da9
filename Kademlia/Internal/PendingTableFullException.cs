namespace Overlay.Kademlia.Internal;

/// <summary>
/// A request of ours was not sent because <see cref="KademliaOptions.MaxPendingRequests"/> requests already await an
/// answer. Thrown by the node's request path only and caught by its callers, which treat the peer as not answering
/// this once without holding it against the peer (no routing-table failure).
/// </summary>
internal sealed class PendingTableFullException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="limit">The configured cap.</param>
    public PendingTableFullException(int limit)
        : base($"{limit} requests already await an answer (Kademlia:MaxPendingRequests)")
    {
    }
}
