namespace Overlay.Storage;

/// <summary>
/// Stores blocks addressed by their <see cref="Cid"/>. Every implementation guarantees that a block it returns
/// matches its CID: hashes are verified on write (mismatch rejected) and on read (mismatch treated as absent).
/// </summary>
/// <remarks>Implementations are thread-safe: any member may be called concurrently.</remarks>
public interface IBlockStore
{
    /// <summary>Checks whether a block is present, without reading or verifying it.</summary>
    /// <param name="cid">The block's CID.</param>
    /// <param name="cancellationToken">Cancels the check.</param>
    /// <returns>True if a block is stored under <paramref name="cid"/>.</returns>
    ValueTask<bool> HasAsync(Cid cid, CancellationToken cancellationToken = default);

    /// <summary>
    /// Reads a block and verifies its sha2-256 hash. A stored block that does not match is removed (deleted or
    /// quarantined), logged, counted, and reported as absent.
    /// </summary>
    /// <param name="cid">The block's CID.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>A new array holding the verified block, or null if it is absent or was corrupt.</returns>
    /// <exception cref="IOException">The storage medium failed; the message names the CID.</exception>
    ValueTask<byte[]?> GetAsync(Cid cid, CancellationToken cancellationToken = default);

    /// <summary>
    /// Verifies that <paramref name="block"/> hashes to <paramref name="cid"/>, then stores it. Storing a block
    /// that is already present is a no-op. The caller may reuse <paramref name="block"/>'s memory once the
    /// returned task completes: implementations copy it.
    /// </summary>
    /// <param name="cid">The block's CID.</param>
    /// <param name="block">The block bytes.</param>
    /// <param name="cancellationToken">Cancels the write; a cancelled write leaves no partial block.</param>
    /// <exception cref="InvalidDataException">The block does not hash to <paramref name="cid"/>; nothing is stored.</exception>
    /// <exception cref="IOException">The write failed (e.g. disk full); the message names the CID and no partial block is left.</exception>
    ValueTask PutAsync(Cid cid, ReadOnlyMemory<byte> block, CancellationToken cancellationToken = default);

    /// <summary>Removes a block.</summary>
    /// <param name="cid">The block's CID.</param>
    /// <param name="cancellationToken">Cancels the delete.</param>
    /// <returns>True if a block was removed, false if none was stored.</returns>
    ValueTask<bool> DeleteAsync(Cid cid, CancellationToken cancellationToken = default);

    /// <summary>Enumerates the CIDs of stored blocks, in no particular order; concurrent changes may or may not be seen.</summary>
    /// <param name="cancellationToken">Cancels the enumeration.</param>
    /// <returns>The stored CIDs.</returns>
    IAsyncEnumerable<Cid> ListAsync(CancellationToken cancellationToken = default);
}
