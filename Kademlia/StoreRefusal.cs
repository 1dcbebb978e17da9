namespace Overlay.Kademlia;

/// <summary>
/// Why a node refused a STORE or ADD_PROVIDER: the public mirror of the wire's <c>StoreStatus</c> refusals
/// (<c>Kademlia/Wire/kademlia.proto</c>), so callers above Kademlia can say why a write failed without seeing the
/// generated wire types.
/// </summary>
public enum StoreRefusal
{
    /// <summary>A status this version does not know (unspecified, or newer than this node).</summary>
    Other,

    /// <summary>The write token was missing, wrong or expired (it lives 5-10 minutes, bound to the writer's address).</summary>
    BadToken,

    /// <summary>The mutable record's Ed25519 signature did not verify.</summary>
    BadSignature,

    /// <summary>The node holds a mutable record under the key with a higher sequence, or the same sequence with another value (BEP 44).</summary>
    StaleSequence,

    /// <summary>The record is malformed (key mismatch, too large, bad TTL).</summary>
    Invalid,

    /// <summary>The node's store is at its cap (Kademlia:MaxRecords, MaxProvidersPerKey, MaxProviderKeys).</summary>
    Full,
}
