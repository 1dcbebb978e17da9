namespace Overlay.Kademlia;

/// <summary>The outcome of a record lookup: the record if found, and the lookup either way.</summary>
/// <param name="Key">The key looked up.</param>
/// <param name="Record">The verified record (for mutable keys, the highest sequence seen), or <see langword="null"/>.</param>
/// <param name="Lookup">The lookup; on a miss, its closest nodes tell the caller where the record should have been.</param>
public sealed record GetResult(NodeId Key, DhtRecord? Record, LookupResult Lookup);
