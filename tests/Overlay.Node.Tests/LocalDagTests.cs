using Overlay.Node.Content;
using Overlay.Storage;

namespace Overlay.Node.Tests;

public sealed class LocalDagTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(100)]
    [InlineData(1000)]
    [InlineData(5000)]
    public async Task FileSizeMatchesTheExportedLength(int length)
    {
        var store = new MemoryBlockStore();
        var data = Bytes(length);
        var imported = await UnixFsImporter.ImportAsync(new MemoryStream(data), store, new ImportOptions { ChunkSize = 100, MaxLinks = 4 });

        var size = await LocalDag.GetFileSizeAsync(store, imported.Root);

        using var exported = new MemoryStream();
        var written = await UnixFsExporter.ExportAsync(imported.Root, async (cid, ct) => (await store.GetAsync(cid, ct))!, exported);
        Assert.Equal(length, size);
        Assert.Equal(written, size);
        Assert.Equal(length > 100 ? Cid.DagPbCodec : Cid.RawCodec, imported.Root.Codec);
    }

    [Fact]
    public async Task FileSizeIsNullWhenTheRootIsMissing()
    {
        var cid = Cid.Compute(Cid.RawCodec, "absent"u8);
        Assert.Null(await LocalDag.GetFileSizeAsync(new MemoryBlockStore(), cid));
    }

    [Fact]
    public async Task CompleteUntilALeafIsDeleted()
    {
        var store = new MemoryBlockStore();
        var imported = await UnixFsImporter.ImportAsync(new MemoryStream(Bytes(1000)), store, new ImportOptions { ChunkSize = 100, MaxLinks = 4 });
        Assert.True(await LocalDag.IsCompleteAsync(store, imported.Root));

        var leaf = Cid.Compute(Cid.RawCodec, Bytes(1000).AsSpan(500, 100));
        Assert.True(await store.DeleteAsync(leaf));

        Assert.False(await LocalDag.IsCompleteAsync(store, imported.Root));
    }

    [Fact]
    public async Task IncompleteWhenTheRootIsMissing()
    {
        var cid = Cid.Compute(Cid.DagPbCodec, [0x0a, 0x02, 0x08, 0x02]);
        Assert.False(await LocalDag.IsCompleteAsync(new MemoryBlockStore(), cid));
    }

    [Fact]
    public void FileSizeFallsBackToBlocksizesWithoutFilesize()
    {
        // PBNode { Data: UnixFS { Type: File, blocksizes: [300, 200] } } with no links: only sizes matter here.
        byte[] unixfs = [0x08, 0x02, 0x20, 0xac, 0x02, 0x20, 0xc8, 0x01];
        var block = new byte[] { 0x0a, (byte)unixfs.Length }.Concat(unixfs).ToArray();
        var cid = Cid.Compute(Cid.DagPbCodec, block);

        Assert.Equal(500, UnixFsFileSize.Read(cid, block));
    }

    [Theory]
    [InlineData(new byte[] { 0x0a, 0x05, 0x08, 0x02 }, "past its end")]
    [InlineData(new byte[] { 0x12, 0x00 }, "no UnixFS Data")]
    [InlineData(new byte[] { 0x0a, 0x02, 0x08, 0x01 }, "UnixFS type 1")]
    [InlineData(new byte[] { 0x0a, 0x02, 0x18, 0x80 }, "ends inside a varint")]
    public void MalformedNodesAreInvalidData(byte[] block, string reason)
    {
        var cid = Cid.Compute(Cid.DagPbCodec, block);

        var ex = Assert.Throws<InvalidDataException>(() => UnixFsFileSize.Read(cid, block));

        Assert.Contains(reason, ex.Message, StringComparison.Ordinal);
        Assert.Contains(cid.ToString(), ex.Message, StringComparison.Ordinal);
    }

    private static byte[] Bytes(int length)
    {
        var data = new byte[length];
        new Random(length).NextBytes(data);
        return data;
    }
}
