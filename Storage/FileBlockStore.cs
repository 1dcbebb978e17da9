using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Overlay.Storage.Internal;

namespace Overlay.Storage;

/// <summary>
/// An <see cref="IBlockStore"/> keeping one file per block.
/// </summary>
/// <remarks>
/// <para>Layout under the root directory (modelled on go-ds-flatfs "next-to-last/2" sharding, but keyed by the
/// CID string rather than the multihash):</para>
/// <list type="bullet">
/// <item><c>blocks/&lt;shard&gt;/&lt;cid&gt;.data</c> — the block bytes, where <c>&lt;cid&gt;</c> is the base32
/// text form and <c>&lt;shard&gt;</c> its two characters before the last one (up to 1024 shard directories).</item>
/// <item><c>blocks/&lt;shard&gt;/.tmp-&lt;cid&gt;-&lt;random&gt;</c> — a write in progress; removed when the store opens.</item>
/// <item><c>quarantine/&lt;cid&gt;.&lt;utc ticks&gt;</c> — blocks found corrupt on read, kept for inspection.</item>
/// </list>
/// <para>Writes are atomic: the block is written to a temp file in its shard directory, flushed to the device
/// (<c>fsync</c>), then renamed over the final name, so a crash never leaves a partial block under a valid name.
/// The directory entry itself is not fsynced (.NET has no portable API), so a crash right after a put may lose the
/// block but never corrupt it. Thread-safe; <see cref="Count"/> and <see cref="TotalBytes"/> are approximate when
/// the same block is put concurrently or the directory is changed by another process.</para>
/// </remarks>
public sealed class FileBlockStore : IBlockStore
{
    private const string DataExtension = ".data";
    private const string TempPrefix = ".tmp-";

    private readonly string _blocksDirectory;
    private readonly string _quarantineDirectory;
    private readonly ILogger _logger;
    private long _count;
    private long _totalBytes;
    private long _corruptBlocks;

    /// <summary>Opens (creating if needed) a store rooted at <paramref name="directory"/> and removes leftover temp files.</summary>
    /// <param name="directory">Root directory of the store.</param>
    /// <param name="logger">Receives open, corruption and failure messages (EventIds 2000-2099); null for none.</param>
    /// <exception cref="ArgumentException"><paramref name="directory"/> is empty.</exception>
    /// <exception cref="IOException">The directory cannot be created or scanned.</exception>
    /// <exception cref="UnauthorizedAccessException">The process lacks permission on the directory.</exception>
    public FileBlockStore(string directory, ILogger<FileBlockStore>? logger = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        _logger = logger ?? (ILogger)NullLogger.Instance;
        RootDirectory = Path.GetFullPath(directory);
        _blocksDirectory = Path.Combine(RootDirectory, "blocks");
        _quarantineDirectory = Path.Combine(RootDirectory, "quarantine");
        Directory.CreateDirectory(_blocksDirectory);
        int removed = 0;
        foreach (var shard in Directory.EnumerateDirectories(_blocksDirectory))
        {
            foreach (var file in Directory.EnumerateFiles(shard))
            {
                string name = Path.GetFileName(file);
                if (name.StartsWith(TempPrefix, StringComparison.Ordinal))
                {
                    try
                    {
                        File.Delete(file);
                        removed++;
                    }
                    catch (IOException ex)
                    {
                        StorageLog.TempCleanupFailed(_logger, file, ex);
                    }
                    catch (UnauthorizedAccessException ex)
                    {
                        StorageLog.TempCleanupFailed(_logger, file, ex);
                    }
                }
                else if (name.EndsWith(DataExtension, StringComparison.Ordinal))
                {
                    _count++;
                    _totalBytes += new FileInfo(file).Length;
                }
            }
        }

        StorageLog.StoreOpened(_logger, RootDirectory, _count, _totalBytes, removed);
    }

    /// <summary>Gets the absolute root directory of the store.</summary>
    public string RootDirectory { get; }

    /// <summary>Gets the number of stored blocks (counted at open, then tracked).</summary>
    public long Count => Interlocked.Read(ref _count);

    /// <summary>Gets the sum of stored block lengths in bytes (counted at open, then tracked).</summary>
    public long TotalBytes => Interlocked.Read(ref _totalBytes);

    /// <summary>Gets how many blocks were found not to match their CID on read and quarantined since open.</summary>
    public long CorruptBlocksDetected => Interlocked.Read(ref _corruptBlocks);

    /// <summary>Returns the path where the block for <paramref name="cid"/> is (or would be) stored.</summary>
    /// <param name="cid">The block's CID.</param>
    /// <returns>An absolute path <c>&lt;root&gt;/blocks/&lt;shard&gt;/&lt;cid&gt;.data</c>.</returns>
    public string GetBlockPath(Cid cid)
    {
        ArgumentNullException.ThrowIfNull(cid);
        string text = cid.ToString();
        return Path.Combine(_blocksDirectory, text.Substring(text.Length - 3, 2), text + DataExtension);
    }

    /// <inheritdoc />
    public ValueTask<bool> HasAsync(Cid cid, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult(File.Exists(GetBlockPath(cid)));
    }

    /// <inheritdoc />
    public async ValueTask<byte[]?> GetAsync(Cid cid, CancellationToken cancellationToken = default)
    {
        string path = GetBlockPath(cid);
        byte[] block;
        try
        {
            block = await File.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false);
        }
        catch (FileNotFoundException)
        {
            return null;
        }
        catch (DirectoryNotFoundException)
        {
            return null;
        }
        catch (IOException ex)
        {
            throw new IOException($"reading block {cid} from {path} failed: {ex.Message}", ex);
        }

        if (cid.Matches(block))
        {
            return block;
        }

        Interlocked.Increment(ref _corruptBlocks);
        Quarantine(cid, path, block.Length);
        return null;
    }

    /// <inheritdoc />
    public async ValueTask PutAsync(Cid cid, ReadOnlyMemory<byte> block, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(cid);
        if (!cid.Matches(block.Span))
        {
            throw new InvalidDataException($"block does not match CID {cid}: its sha2-256 digest differs; not stored");
        }

        string path = GetBlockPath(cid);
        if (File.Exists(path))
        {
            return;
        }

        string directory = Path.GetDirectoryName(path)!;
        string temp = Path.Combine(directory, $"{TempPrefix}{cid}-{Guid.NewGuid():N}");
        try
        {
            Directory.CreateDirectory(directory);
            var streamOptions = new FileStreamOptions
            {
                Mode = FileMode.CreateNew,
                Access = FileAccess.Write,
                Share = FileShare.None,
                Options = FileOptions.Asynchronous,
                PreallocationSize = block.Length,
            };
            await using (var stream = new FileStream(temp, streamOptions))
            {
                await stream.WriteAsync(block, cancellationToken).ConfigureAwait(false);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temp, path, overwrite: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or OperationCanceledException)
        {
            TryDelete(temp);
            if (ex is OperationCanceledException)
            {
                throw;
            }

            StorageLog.WriteFailed(_logger, cid.ToString(), ex);
            throw new IOException($"writing block {cid} ({block.Length} bytes) to {path} failed: {ex.Message}", ex);
        }

        Interlocked.Increment(ref _count);
        Interlocked.Add(ref _totalBytes, block.Length);
    }

    /// <inheritdoc />
    public ValueTask<bool> DeleteAsync(Cid cid, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        string path = GetBlockPath(cid);
        FileInfo info = new(path);
        if (!info.Exists)
        {
            return ValueTask.FromResult(false);
        }

        long length = info.Length;
        try
        {
            File.Delete(path);
        }
        catch (IOException ex)
        {
            throw new IOException($"deleting block {cid} at {path} failed: {ex.Message}", ex);
        }

        Interlocked.Decrement(ref _count);
        Interlocked.Add(ref _totalBytes, -length);
        return ValueTask.FromResult(true);
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<Cid> ListAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        foreach (var shard in Directory.EnumerateDirectories(_blocksDirectory))
        {
            foreach (var file in Directory.EnumerateFiles(shard, "*" + DataExtension))
            {
                cancellationToken.ThrowIfCancellationRequested();
                string name = Path.GetFileName(file);
                if (Cid.TryParse(name[..^DataExtension.Length], out var cid))
                {
                    yield return cid;
                }
            }

            await Task.Yield();
        }
    }

    private void Quarantine(Cid cid, string path, long length)
    {
        string target = Path.Combine(_quarantineDirectory, $"{cid}.{DateTime.UtcNow.Ticks}");
        try
        {
            Directory.CreateDirectory(_quarantineDirectory);
            File.Move(path, target);
            StorageLog.CorruptBlockQuarantined(_logger, cid.ToString(), target);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            TryDelete(path);
            StorageLog.CorruptBlockDeleted(_logger, cid.ToString(), ex);
        }

        Interlocked.Decrement(ref _count);
        Interlocked.Add(ref _totalBytes, -length);
    }

    private void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            StorageLog.TempCleanupFailed(_logger, path, ex);
        }
    }
}
