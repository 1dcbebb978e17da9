using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Overlay.Storage.Internal;

namespace Overlay.Storage;

/// <summary>
/// An in-memory <see cref="IBlockStore"/> for tests and tools: a concurrent dictionary of copied blocks.
/// Verifies hashes on put and on get like every store. Thread-safe.
/// </summary>
public sealed class MemoryBlockStore : IBlockStore
{
    private readonly ConcurrentDictionary<Cid, byte[]> _blocks = new();
    private readonly ILogger _logger;
    private long _totalBytes;
    private long _corruptBlocks;

    /// <summary>Creates an empty store.</summary>
    /// <param name="logger">Receives corrupt-block warnings; null for none.</param>
    public MemoryBlockStore(ILogger<MemoryBlockStore>? logger = null)
    {
        _logger = logger ?? (ILogger)NullLogger.Instance;
    }

    /// <summary>Gets the number of stored blocks.</summary>
    public long Count => _blocks.Count;

    /// <summary>Gets the sum of stored block lengths in bytes.</summary>
    public long TotalBytes => Interlocked.Read(ref _totalBytes);

    /// <summary>Gets how many stored blocks were found not to match their CID on read and removed.</summary>
    public long CorruptBlocksDetected => Interlocked.Read(ref _corruptBlocks);

    /// <inheritdoc />
    public ValueTask<bool> HasAsync(Cid cid, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(cid);
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult(_blocks.ContainsKey(cid));
    }

    /// <inheritdoc />
    public ValueTask<byte[]?> GetAsync(Cid cid, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(cid);
        cancellationToken.ThrowIfCancellationRequested();
        if (!_blocks.TryGetValue(cid, out var block))
        {
            return ValueTask.FromResult<byte[]?>(null);
        }

        if (!cid.Matches(block))
        {
            if (_blocks.TryRemove(new KeyValuePair<Cid, byte[]>(cid, block)))
            {
                Interlocked.Add(ref _totalBytes, -block.Length);
            }

            Interlocked.Increment(ref _corruptBlocks);
            StorageLog.CorruptMemoryBlock(_logger, cid.ToString());
            return ValueTask.FromResult<byte[]?>(null);
        }

        return ValueTask.FromResult<byte[]?>((byte[])block.Clone());
    }

    /// <inheritdoc />
    public ValueTask PutAsync(Cid cid, ReadOnlyMemory<byte> block, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(cid);
        cancellationToken.ThrowIfCancellationRequested();
        if (!cid.Matches(block.Span))
        {
            throw new InvalidDataException($"block does not match CID {cid}: its sha2-256 digest differs; not stored");
        }

        if (_blocks.TryAdd(cid, block.ToArray()))
        {
            Interlocked.Add(ref _totalBytes, block.Length);
        }

        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask<bool> DeleteAsync(Cid cid, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(cid);
        cancellationToken.ThrowIfCancellationRequested();
        if (_blocks.TryRemove(cid, out var block))
        {
            Interlocked.Add(ref _totalBytes, -block.Length);
            return ValueTask.FromResult(true);
        }

        return ValueTask.FromResult(false);
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<Cid> ListAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        foreach (var cid in _blocks.Keys)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return cid;
        }

        await Task.CompletedTask.ConfigureAwait(false);
    }

    /// <summary>Replaces a stored block's bytes without verification, to simulate corruption in tests.</summary>
    internal void CorruptForTest(Cid cid, byte[] bytes) => _blocks[cid] = bytes;
}
