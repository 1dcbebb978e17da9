namespace Overlay.Kademlia;

/// <summary>The outcome of GET_PROVIDERS lookups for a key.</summary>
/// <param name="Key">The content key.</param>
/// <param name="Providers">Distinct providers found, at most the requested count; empty when nobody provides the key.</param>
/// <param name="Lookup">The lookup.</param>
public sealed record ProvidersResult(NodeId Key, IReadOnlyList<ProviderRecord> Providers, LookupResult Lookup);
