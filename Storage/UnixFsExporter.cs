using Overlay.Storage.Internal;

namespace Overlay.Storage;

/// <summary>
/// Writes out the file bytes of a UnixFS file DAG (https://github.com/ipfs/specs/blob/main/UNIXFS.md): raw leaves,
/// and dag-pb nodes of UnixFS type File or Raw, visited depth-first in link order.
/// </summary>
public static class UnixFsExporter
{
    /// <summary>Deepest tree accepted: 64 levels (a balanced 174-ary tree of 1-byte leaves needs 9 for 2^63 bytes).</summary>
    public const int MaxDepth = 64;

    /// <summary>
    /// Streams the file rooted at <paramref name="root"/> to <paramref name="destination"/>, verifying every block's
    /// sha2-256 hash and the UnixFS structure: each node's blocksizes must match its links, each child must produce
    /// exactly its blocksize, and filesize (when present) must equal inline data plus blocksizes.
    /// </summary>
    /// <param name="root">The file's root CID (raw or dag-pb).</param>
    /// <param name="getBlock">Returns the bytes of a block; typically a store lookup or network fetch. Its exceptions
    /// propagate unchanged.</param>
    /// <param name="destination">Receives the file bytes; not flushed or disposed.</param>
    /// <param name="progress">Receives the cumulative number of bytes written after each leaf.</param>
    /// <param name="cancellationToken">Cancels the export.</param>
    /// <returns>The number of bytes written.</returns>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="InvalidDataException">A block does not match its CID, is not valid dag-pb/UnixFS, has an
    /// unsupported codec or UnixFS type, disagrees with its parent's sizes, or the tree is deeper than
    /// <see cref="MaxDepth"/>; the message names the CID. Bytes before the defect may already have been written.</exception>
    public static async Task<long> ExportAsync(
        Cid root,
        Func<Cid, CancellationToken, ValueTask<byte[]>> getBlock,
        Stream destination,
        IProgress<long>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(root);
        ArgumentNullException.ThrowIfNull(getBlock);
        ArgumentNullException.ThrowIfNull(destination);
        var state = new ExportState(getBlock, destination, progress);
        await ExportNodeAsync(root, 0, state, cancellationToken).ConfigureAwait(false);
        return state.Written;
    }

    private static async ValueTask<ulong> ExportNodeAsync(Cid cid, int depth, ExportState state, CancellationToken cancellationToken)
    {
        if (depth > MaxDepth)
        {
            throw new InvalidDataException($"block {cid} is deeper than {MaxDepth} levels; refusing to export");
        }

        cancellationToken.ThrowIfCancellationRequested();
        byte[]? block = await state.GetBlock(cid, cancellationToken).ConfigureAwait(false);
        if (block is null)
        {
            throw new InvalidDataException($"block {cid} was not returned by the block source");
        }

        if (!cid.Matches(block))
        {
            throw new InvalidDataException($"block {cid} does not match its CID (sha2-256 digest differs)");
        }

        if (cid.Codec == Cid.RawCodec)
        {
            await state.WriteAsync(block, cancellationToken).ConfigureAwait(false);
            return (ulong)block.Length;
        }

        var node = DagPb.Decode(cid, block);
        if (node.Data is null)
        {
            throw new InvalidDataException($"block {cid} has no UnixFS Data");
        }

        if (!DagPbCodec.TryDecodeUnixFs(node.Data, out var unixfs, out var error))
        {
            throw new InvalidDataException($"block {cid} has invalid UnixFS Data: {error}");
        }

        if (unixfs!.Type is not (DagPbCodec.TypeFile or DagPbCodec.TypeRaw))
        {
            throw new InvalidDataException($"block {cid} has UnixFS type {unixfs.Type}; only File (2) and Raw (0) can be exported as a file");
        }

        if (unixfs.BlockSizes.Count != node.Links.Count)
        {
            throw new InvalidDataException($"block {cid} has {node.Links.Count} links but {unixfs.BlockSizes.Count} blocksizes");
        }

        ulong inline = (ulong)(unixfs.Data?.Length ?? 0);
        ulong expected = inline;
        foreach (ulong size in unixfs.BlockSizes)
        {
            expected += size;
            if (expected < size)
            {
                throw new InvalidDataException($"block {cid} blocksizes overflow 64 bits");
            }
        }

        if (unixfs.FileSize is ulong declared && declared != expected)
        {
            throw new InvalidDataException($"block {cid} declares filesize {declared} but its data and blocksizes add up to {expected}");
        }

        if (unixfs.Data is { Length: > 0 } data)
        {
            await state.WriteAsync(data, cancellationToken).ConfigureAwait(false);
        }

        for (int i = 0; i < node.Links.Count; i++)
        {
            var child = node.Links[i].Hash;
            ulong produced = await ExportNodeAsync(child, depth + 1, state, cancellationToken).ConfigureAwait(false);
            if (produced != unixfs.BlockSizes[i])
            {
                throw new InvalidDataException($"block {cid} link {i} ({child}) produced {produced} bytes but blocksize says {unixfs.BlockSizes[i]}");
            }
        }

        return expected;
    }

    private sealed class ExportState(Func<Cid, CancellationToken, ValueTask<byte[]>> getBlock, Stream destination, IProgress<long>? progress)
    {
        public Func<Cid, CancellationToken, ValueTask<byte[]>> GetBlock { get; } = getBlock;

        public long Written { get; private set; }

        public async ValueTask WriteAsync(byte[] bytes, CancellationToken cancellationToken)
        {
            await destination.WriteAsync(bytes, cancellationToken).ConfigureAwait(false);
            Written += bytes.Length;
            progress?.Report(Written);
        }
    }
}
