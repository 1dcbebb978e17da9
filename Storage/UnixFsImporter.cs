using Overlay.Storage.Internal;

namespace Overlay.Storage;

/// <summary>
/// Imports a byte stream as a UnixFS file (https://github.com/ipfs/specs/blob/main/UNIXFS.md), producing the same
/// root CID as Kubo <c>ipfs add --cid-version=1 --raw-leaves --chunker=size-N</c> and ipfs-unixfs-importer with
/// <c>{ cidVersion: 1, rawLeaves: true, reduceSingleLeafToSelf: true }</c>, fixed-size chunker and balanced layout.
/// </summary>
/// <remarks>
/// Leaves are raw blocks (codec 0x55) of exactly <see cref="ImportOptions.ChunkSize"/> bytes except the last;
/// internal nodes are dag-pb (0x70) UnixFS File nodes with at most <see cref="ImportOptions.MaxLinks"/> links, each
/// link carrying Name "" and Tsize (the cumulative encoded size of the child's DAG), and Data carrying filesize and
/// one blocksize (file bytes under the child) per link. A one-chunk file's root is the raw leaf itself; an empty
/// file is the empty raw block. The tree is built bottom-up as the stream is read, so memory holds one chunk plus
/// at most <c>MaxLinks</c> pending links per tree level. Verified against ipfs-unixfs-importer 17.1.1 golden vectors.
/// </remarks>
public static class UnixFsImporter
{
    /// <summary>Reads <paramref name="source"/> to its end, writes every block to <paramref name="store"/> and returns the root.</summary>
    /// <param name="source">The file content; read sequentially, not disposed.</param>
    /// <param name="store">Receives every leaf and internal node.</param>
    /// <param name="options">Chunk size and links per node; null for the defaults.</param>
    /// <param name="progress">Receives the cumulative number of bytes read after each chunk.</param>
    /// <param name="cancellationToken">Cancels the import; blocks already written stay in the store.</param>
    /// <returns>The root CID, file size and number of blocks written.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="source"/> or <paramref name="store"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range (see <see cref="ImportOptions.Validate"/>).</exception>
    /// <exception cref="IOException">Reading the source or writing the store failed.</exception>
    public static async Task<ImportResult> ImportAsync(
        Stream source,
        IBlockStore store,
        ImportOptions? options = null,
        IProgress<long>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(store);
        options ??= new ImportOptions();
        options.Validate();

        var builder = new TreeBuilder(store, options.MaxLinks);
        var buffer = new byte[options.ChunkSize];
        long total = 0;
        bool any = false;
        while (true)
        {
            int filled = await source.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
            if (filled == 0 && any)
            {
                break;
            }

            // The fixed-size chunker emits one empty chunk for an empty file, and never an empty chunk otherwise.
            any = true;
            total += filled;
            var chunk = buffer.AsMemory(0, filled);
            var cid = Cid.Compute(Cid.RawCodec, chunk.Span);
            await store.PutAsync(cid, chunk, cancellationToken).ConfigureAwait(false);
            builder.BlockCount++;
            await builder.AddAsync(0, new Node(cid, (ulong)filled, (ulong)filled), cancellationToken).ConfigureAwait(false);
            progress?.Report(total);
            if (filled < buffer.Length)
            {
                break;
            }
        }

        var root = await builder.FinishAsync(cancellationToken).ConfigureAwait(false);
        return new ImportResult(root, total, builder.BlockCount);
    }

    /// <summary>A finished subtree: its CID, cumulative DAG size (Tsize) and file bytes under it.</summary>
    private readonly record struct Node(Cid Cid, ulong Tsize, ulong FileSize);

    /// <summary>
    /// Streaming equivalent of the JS balanced layout, which batches a level into groups of MaxLinks, reduces each
    /// group to a parent, and repeats until one node is left: here a level is reduced as soon as it fills.
    /// </summary>
    private sealed class TreeBuilder(IBlockStore store, int maxLinks)
    {
        private readonly List<List<Node>> _levels = [];
        private readonly List<int> _reduced = [];

        public int BlockCount { get; set; }

        public async ValueTask AddAsync(int level, Node node, CancellationToken cancellationToken)
        {
            while (_levels.Count <= level)
            {
                _levels.Add(new List<Node>(maxLinks));
                _reduced.Add(0);
            }

            var pending = _levels[level];
            pending.Add(node);
            if (pending.Count == maxLinks)
            {
                var parent = await ReduceAsync(pending, cancellationToken).ConfigureAwait(false);
                pending.Clear();
                _reduced[level]++;
                await AddAsync(level + 1, parent, cancellationToken).ConfigureAwait(false);
            }
        }

        public async ValueTask<Cid> FinishAsync(CancellationToken cancellationToken)
        {
            for (int level = 0; ; level++)
            {
                var pending = _levels[level];
                if (_reduced[level] == 0 && pending.Count == 1)
                {
                    // This level holds exactly one node in total: it is the root (a lone leaf reduces to itself).
                    return pending[0].Cid;
                }

                if (pending.Count > 0)
                {
                    var parent = await ReduceAsync(pending, cancellationToken).ConfigureAwait(false);
                    pending.Clear();
                    _reduced[level]++;
                    await AddAsync(level + 1, parent, cancellationToken).ConfigureAwait(false);
                }
            }
        }

        private async ValueTask<Node> ReduceAsync(List<Node> children, CancellationToken cancellationToken)
        {
            var links = new (Cid, ulong)[children.Count];
            var sizes = new ulong[children.Count];
            ulong fileSize = 0;
            ulong tsize = 0;
            for (int i = 0; i < children.Count; i++)
            {
                links[i] = (children[i].Cid, children[i].Tsize);
                sizes[i] = children[i].FileSize;
                fileSize += children[i].FileSize;
                tsize += children[i].Tsize;
            }

            byte[] block = DagPbCodec.EncodeFileNode(links, sizes, fileSize);
            var cid = Cid.Compute(Cid.DagPbCodec, block);
            await store.PutAsync(cid, block, cancellationToken).ConfigureAwait(false);
            BlockCount++;
            return new Node(cid, tsize + (ulong)block.Length, fileSize);
        }
    }
}
