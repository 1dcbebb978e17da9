using Overlay.Storage;

namespace Overlay.Node.Content;

/// <summary>
/// Questions about a UnixFS DAG asked of the local block store only (no network): is every block present, and how
/// large is the file. Thread-safe (stateless; the store is thread-safe).
/// </summary>
internal static class LocalDag
{
    /// <summary>Most distinct blocks visited by <see cref="IsCompleteAsync"/>: 16,777,216 (16 TiB of 1 MiB leaves); past it the DAG is treated as malformed.</summary>
    public const int MaxBlocks = 16 * 1024 * 1024;

    /// <summary>
    /// Checks whether every block of the DAG rooted at <paramref name="root"/> is in <paramref name="store"/>: leaves by
    /// presence, dag-pb nodes by reading (and so verifying) them to follow their links, depth-first.
    /// </summary>
    /// <param name="store">The local store.</param>
    /// <param name="root">The root CID.</param>
    /// <param name="cancellationToken">Cancels the walk.</param>
    /// <returns>True when no block is missing.</returns>
    /// <exception cref="InvalidDataException">A dag-pb node is malformed, its codec is unsupported, or the DAG has more than <see cref="MaxBlocks"/> blocks.</exception>
    /// <exception cref="IOException">The store failed.</exception>
    public static async Task<bool> IsCompleteAsync(IBlockStore store, Cid root, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(root);
        var visited = new HashSet<Cid>();
        var pending = new Stack<Cid>();
        pending.Push(root);
        while (pending.Count > 0)
        {
            var cid = pending.Pop();
            if (!visited.Add(cid))
            {
                continue;
            }

            if (visited.Count > MaxBlocks)
            {
                throw new InvalidDataException($"DAG {root} has more than {MaxBlocks} blocks");
            }

            if (cid.Codec == Cid.RawCodec)
            {
                if (!await store.HasAsync(cid, cancellationToken).ConfigureAwait(false))
                {
                    return false;
                }

                continue;
            }

            var block = await store.GetAsync(cid, cancellationToken).ConfigureAwait(false);
            if (block is null)
            {
                return false;
            }

            var links = DagPb.GetLinks(cid, block);
            for (var i = links.Count - 1; i >= 0; i--)
            {
                pending.Push(links[i]);
            }
        }

        return true;
    }

    /// <summary>
    /// Returns the size of the file rooted at <paramref name="root"/>, reading only the root block: a raw root's
    /// length, or a dag-pb root's UnixFS <c>filesize</c> (when absent: inline data plus the sum of <c>blocksizes</c>).
    /// </summary>
    /// <param name="store">The local store.</param>
    /// <param name="root">The root CID.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The file size, bytes; null when the root block is not in the store.</returns>
    /// <exception cref="InvalidDataException">The root is not a raw block or a dag-pb UnixFS File/Raw node.</exception>
    /// <exception cref="IOException">The store failed.</exception>
    public static async Task<long?> GetFileSizeAsync(IBlockStore store, Cid root, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(root);
        var block = await store.GetAsync(root, cancellationToken).ConfigureAwait(false);
        if (block is null)
        {
            return null;
        }

        return root.Codec == Cid.RawCodec ? block.Length : UnixFsFileSize.Read(root, block);
    }
}
