namespace Overlay.Kademlia;

/// <summary>The outcome of checking a record against its key (see <see cref="DhtRecord.Verify"/>).</summary>
public enum RecordCheck
{
    /// <summary>The record matches its key and, if mutable, its signature verifies.</summary>
    Valid,

    /// <summary>Malformed: value too long, key mismatch, bad key length or salt.</summary>
    Invalid,

    /// <summary>A mutable record whose Ed25519 signature does not verify.</summary>
    BadSignature,
}
