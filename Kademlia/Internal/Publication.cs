namespace Overlay.Kademlia.Internal;

/// <summary>
/// Something this node publishes: a record (null for a provider announcement) and when it last went out;
/// <paramref name="Restored"/> while it was loaded from the publication store and not yet announced by this process.
/// </summary>
/// <param name="Record">The record put, or null for a provided key.</param>
/// <param name="LastPublished">Monotonic timestamp (TimeProvider ticks) of the last announcement.</param>
/// <param name="Restored">Whether it was loaded on start and awaits its first announcement by this process.</param>
internal sealed record Publication(DhtRecord? Record, long LastPublished, bool Restored = false);
