namespace Overlay.Exchange;

/// <summary>The outcome of a successful <see cref="BlockFetcher.FetchDagAsync"/>.</summary>
/// <param name="Root">The DAG root fetched.</param>
/// <param name="BlocksFetched">Blocks received, verified and stored (blocks already in the store are not counted).</param>
/// <param name="BytesFetched">Sum of the stored blocks' lengths, in bytes.</param>
/// <param name="BadBlocks">Blocks received that did not match their CID (discarded, never stored).</param>
/// <param name="ProvidersDropped">Providers dropped for a bad block, error, timeout, refused connection or disconnect.</param>
/// <param name="Elapsed">Time from start to finish, measured with the fetcher's <see cref="TimeProvider"/>.</param>
public sealed record FetchResult(Storage.Cid Root, int BlocksFetched, long BytesFetched, int BadBlocks, int ProvidersDropped, TimeSpan Elapsed);
