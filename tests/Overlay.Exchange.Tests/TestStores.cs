using System.Runtime.CompilerServices;
using Overlay.Storage;

namespace Overlay.Exchange.Tests;

/// <summary>Wraps a store and returns every block with one byte flipped, bypassing verification (a lying provider).</summary>
internal sealed class CorruptingBlockStore(IBlockStore inner) : IBlockStore
{
    public ValueTask<bool> HasAsync(Cid cid, CancellationToken cancellationToken = default) => inner.HasAsync(cid, cancellationToken);

    public async ValueTask<byte[]?> GetAsync(Cid cid, CancellationToken cancellationToken = default)
    {
        var block = await inner.GetAsync(cid, cancellationToken);
        if (block is null)
        {
            return null;
        }

        if (block.Length == 0)
        {
            return [0x42];
        }

        block[block.Length / 2] ^= 0x5A;
        return block;
    }

    public ValueTask PutAsync(Cid cid, ReadOnlyMemory<byte> block, CancellationToken cancellationToken = default) => inner.PutAsync(cid, block, cancellationToken);

    public ValueTask<bool> DeleteAsync(Cid cid, CancellationToken cancellationToken = default) => inner.DeleteAsync(cid, cancellationToken);

    public IAsyncEnumerable<Cid> ListAsync(CancellationToken cancellationToken = default) => inner.ListAsync(cancellationToken);
}

/// <summary>Counts GetAsync calls, to see which provider served what.</summary>
internal sealed class CountingBlockStore(IBlockStore inner) : IBlockStore
{
    private int _gets;

    public int Gets => Volatile.Read(ref _gets);

    public ValueTask<bool> HasAsync(Cid cid, CancellationToken cancellationToken = default) => inner.HasAsync(cid, cancellationToken);

    public ValueTask<byte[]?> GetAsync(Cid cid, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _gets);
        return inner.GetAsync(cid, cancellationToken);
    }

    public ValueTask PutAsync(Cid cid, ReadOnlyMemory<byte> block, CancellationToken cancellationToken = default) => inner.PutAsync(cid, block, cancellationToken);

    public ValueTask<bool> DeleteAsync(Cid cid, CancellationToken cancellationToken = default) => inner.DeleteAsync(cid, cancellationToken);

    public async IAsyncEnumerable<Cid> ListAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var cid in inner.ListAsync(cancellationToken))
        {
            yield return cid;
        }
    }
}
