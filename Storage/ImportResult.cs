namespace Overlay.Storage;

/// <summary>The outcome of <see cref="UnixFsImporter.ImportAsync"/>.</summary>
/// <param name="Root">The root CID: a raw CID (bafkrei…) for files of at most one chunk, otherwise dag-pb (bafybei…).</param>
/// <param name="FileBytes">Bytes read from the source, i.e. the file size.</param>
/// <param name="BlockCount">Blocks written to the store, leaves plus internal nodes, counting repeated identical
/// blocks each time they were written.</param>
public sealed record ImportResult(Cid Root, long FileBytes, int BlockCount);
