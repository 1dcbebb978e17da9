using Overlay.Storage.Internal;

namespace Overlay.Storage.Tests;

public sealed class ExporterTests
{
    internal static Func<Cid, CancellationToken, ValueTask<byte[]>> From(IBlockStore store) =>
        async (cid, ct) => await store.GetAsync(cid, ct) ?? throw new KeyNotFoundException($"missing {cid}");

    [Theory]
    [InlineData(0, 1024, 174)]
    [InlineData(1, 1024, 174)]
    [InlineData(1024, 1024, 174)]
    [InlineData(1025, 1024, 174)]
    [InlineData(100_000, 1024, 174)]
    [InlineData(100_000, 100, 3)]
    [InlineData(3_000_000, 1_048_576, 174)]
    public async Task ImportThenExport_ReturnsInput(int size, int chunk, int links)
    {
        var input = TestData.Bytes("mod251", size);
        var store = new MemoryBlockStore();
        var result = await UnixFsImporter.ImportAsync(new MemoryStream(input), store, new ImportOptions { ChunkSize = chunk, MaxLinks = links });
        var output = new MemoryStream();
        long lastProgress = 0;
        long written = await UnixFsExporter.ExportAsync(result.Root, From(store), output, new SyncProgress(v => lastProgress = v));
        Assert.Equal(size, written);
        Assert.Equal(size, lastProgress);
        Assert.Equal(input, output.ToArray());
    }

    [Fact]
    public async Task CorruptedLeaf_IsDetected()
    {
        var store = new MemoryBlockStore();
        var result = await UnixFsImporter.ImportAsync(new MemoryStream(TestData.Bytes("mod251", 10_000)), store, new ImportOptions { ChunkSize = 1000 });
        var root = await store.GetAsync(result.Root);
        var leaf = DagPb.GetLinks(result.Root, root)[3];
        Func<Cid, CancellationToken, ValueTask<byte[]>> get = async (cid, ct) =>
        {
            var block = (await store.GetAsync(cid, ct))!;
            if (cid == leaf)
            {
                block[10] ^= 0xFF;
            }

            return block;
        };
        var ex = await Assert.ThrowsAsync<InvalidDataException>(() => UnixFsExporter.ExportAsync(result.Root, get, Stream.Null));
        Assert.Contains(leaf.ToString(), ex.Message, StringComparison.Ordinal);
        Assert.Contains("does not match", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BlockSizeLie_IsDetected()
    {
        var store = new MemoryBlockStore();
        var a = Cid.Compute(Cid.RawCodec, [1, 2, 3]);
        await store.PutAsync(a, new byte[] { 1, 2, 3 });
        var node = DagPbCodec.EncodeFileNode([(a, 3)], [4], 4);
        var root = Cid.Compute(Cid.DagPbCodec, node);
        await store.PutAsync(root, node);
        var ex = await Assert.ThrowsAsync<InvalidDataException>(() => UnixFsExporter.ExportAsync(root, From(store), Stream.Null));
        Assert.Contains("blocksize says 4", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnsupportedCodec_IsInvalidData()
    {
        var block = new byte[] { 0xa0 };
        var cid = Cid.Compute(0x71, block);
        var ex = await Assert.ThrowsAsync<InvalidDataException>(() =>
            UnixFsExporter.ExportAsync(cid, (_, _) => ValueTask.FromResult(block), Stream.Null));
        Assert.Contains("0x71", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void GoJsDagPbEncoding_MatchesSpecLayout()
    {
        // Links (field 2) before Data (field 1); PBLink Hash=1, Name=2 (empty, written), Tsize=3.
        var leaf = Cid.Compute(Cid.RawCodec, [9]);
        var node = DagPbCodec.EncodeFileNode([(leaf, 1)], [1], 1);
        var expected = new List<byte> { 0x12, 0x2a, 0x0a, 0x24 };
        expected.AddRange(leaf.ToBytes());
        expected.AddRange(new byte[] { 0x12, 0x00, 0x18, 0x01, 0x0a, 0x06, 0x08, 0x02, 0x18, 0x01, 0x20, 0x01 });
        Assert.Equal(expected.ToArray(), node);
        Assert.Equal([leaf], DagPb.GetLinks(Cid.Compute(Cid.DagPbCodec, node), node));
    }

    [Fact]
    public async Task ImportOptions_OutOfRange_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new ImportOptions { ChunkSize = 0 }.Validate());
        Assert.Throws<ArgumentOutOfRangeException>(() => new ImportOptions { ChunkSize = ImportOptions.MaxChunkSize + 1 }.Validate());
        Assert.Throws<ArgumentOutOfRangeException>(() => new ImportOptions { MaxLinks = 1 }.Validate());
        var ex = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() =>
            UnixFsImporter.ImportAsync(Stream.Null, new MemoryBlockStore(), new ImportOptions { MaxLinks = 0 }));
        Assert.Contains("MaxLinks", ex.Message, StringComparison.Ordinal);
    }
}
