namespace Overlay.Storage.Tests;

/// <summary>Contract tests every <see cref="IBlockStore"/> implementation must pass.</summary>
public abstract class BlockStoreContractTests
{
    protected abstract IBlockStore CreateStore();

    [Fact]
    public async Task PutGetHasDeleteList()
    {
        var store = CreateStore();
        var block = new byte[] { 1, 2, 3, 4 };
        var cid = Cid.Compute(Cid.RawCodec, block);
        Assert.False(await store.HasAsync(cid));
        Assert.Null(await store.GetAsync(cid));
        await store.PutAsync(cid, block);
        await store.PutAsync(cid, block);
        Assert.True(await store.HasAsync(cid));
        Assert.Equal(block, await store.GetAsync(cid));
        var listed = new List<Cid>();
        await foreach (var c in store.ListAsync())
        {
            listed.Add(c);
        }

        Assert.Equal([cid], listed);
        Assert.True(await store.DeleteAsync(cid));
        Assert.False(await store.DeleteAsync(cid));
        Assert.Null(await store.GetAsync(cid));
    }

    [Fact]
    public async Task Put_MismatchingBlock_ThrowsAndStoresNothing()
    {
        var store = CreateStore();
        var cid = Cid.Compute(Cid.RawCodec, [1, 2, 3]);
        var ex = await Assert.ThrowsAsync<InvalidDataException>(async () => await store.PutAsync(cid, new byte[] { 1, 2, 4 }));
        Assert.Contains(cid.ToString(), ex.Message, StringComparison.Ordinal);
        Assert.False(await store.HasAsync(cid));
    }

    [Fact]
    public async Task Get_ReturnsCopy()
    {
        var store = CreateStore();
        var block = new byte[] { 5, 6, 7 };
        var cid = Cid.Compute(Cid.RawCodec, block);
        await store.PutAsync(cid, block);
        block[0] = 99;
        var first = (await store.GetAsync(cid))!;
        first[1] = 99;
        Assert.Equal(new byte[] { 5, 6, 7 }, await store.GetAsync(cid));
    }
}

public sealed class MemoryBlockStoreTests : BlockStoreContractTests
{
    protected override IBlockStore CreateStore() => new MemoryBlockStore();

    [Fact]
    public async Task CorruptInMemory_TreatedAsAbsentAndCounted()
    {
        var store = new MemoryBlockStore();
        var cid = Cid.Compute(Cid.RawCodec, [1]);
        await store.PutAsync(cid, new byte[] { 1 });
        store.CorruptForTest(cid, [2]);
        Assert.Null(await store.GetAsync(cid));
        Assert.Equal(1, store.CorruptBlocksDetected);
        Assert.False(await store.HasAsync(cid));
    }
}

public sealed class FileBlockStoreTests : BlockStoreContractTests, IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "overlay-storage-tests-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    protected override IBlockStore CreateStore() => new FileBlockStore(_dir);

    [Fact]
    public async Task Put_IsAtomic_NoTempFilesLeft_LayoutAsDocumented()
    {
        var store = new FileBlockStore(_dir);
        var rng = new Random(7);
        var cids = new List<Cid>();
        for (int i = 0; i < 50; i++)
        {
            var block = new byte[rng.Next(0, 5000)];
            rng.NextBytes(block);
            var cid = Cid.Compute(Cid.RawCodec, block);
            await store.PutAsync(cid, block);
            cids.Add(cid);
        }

        var files = Directory.GetFiles(_dir, "*", SearchOption.AllDirectories);
        Assert.Equal(50, files.Length);
        Assert.All(files, f => Assert.EndsWith(".data", f, StringComparison.Ordinal));
        foreach (var cid in cids)
        {
            string text = cid.ToString();
            string expected = Path.Combine(_dir, "blocks", text.Substring(text.Length - 3, 2), text + ".data");
            Assert.True(File.Exists(expected), expected);
        }

        Assert.Equal(50, store.Count);
        var reopened = new FileBlockStore(_dir);
        Assert.Equal(50, reopened.Count);
        Assert.Equal(store.TotalBytes, reopened.TotalBytes);
    }

    [Fact]
    public async Task Open_RemovesLeftoverTempFiles()
    {
        var store = new FileBlockStore(_dir);
        var block = new byte[] { 1, 2, 3 };
        var cid = Cid.Compute(Cid.RawCodec, block);
        await store.PutAsync(cid, block);
        string shard = Path.GetDirectoryName(store.GetBlockPath(cid))!;
        string temp = Path.Combine(shard, ".tmp-" + cid + "-crashed");
        await File.WriteAllBytesAsync(temp, [1, 2]);

        var reopened = new FileBlockStore(_dir);
        Assert.False(File.Exists(temp));
        Assert.Equal(block, await reopened.GetAsync(cid));
    }

    [Fact]
    public async Task CorruptOnDisk_TreatedAsAbsent_Quarantined_Counted()
    {
        var store = new FileBlockStore(_dir);
        var block = new byte[] { 10, 20, 30, 40 };
        var cid = Cid.Compute(Cid.RawCodec, block);
        await store.PutAsync(cid, block);
        string path = store.GetBlockPath(cid);
        await File.WriteAllBytesAsync(path, [10, 20, 30, 41]);

        Assert.Null(await store.GetAsync(cid));
        Assert.Equal(1, store.CorruptBlocksDetected);
        Assert.False(File.Exists(path));
        Assert.False(await store.HasAsync(cid));
        Assert.Single(Directory.GetFiles(Path.Combine(_dir, "quarantine")));
        await store.PutAsync(cid, block);
        Assert.Equal(block, await store.GetAsync(cid));
    }

    [Fact]
    public async Task Put_IoFailure_SurfacesIOExceptionWithCid_AndLeavesNoPartialFile()
    {
        var store = new FileBlockStore(_dir);
        var block = new byte[] { 1, 2, 3, 4, 5 };
        var cid = Cid.Compute(Cid.RawCodec, block);
        string shard = Path.GetDirectoryName(store.GetBlockPath(cid))!;

        // A regular file where the shard directory should be makes every write in it fail.
        await File.WriteAllBytesAsync(shard, []);
        var ex = await Assert.ThrowsAsync<IOException>(async () => await store.PutAsync(cid, block));
        Assert.Contains(cid.ToString(), ex.Message, StringComparison.Ordinal);
        File.Delete(shard);
        Assert.False(await store.HasAsync(cid));
        Assert.Empty(Directory.GetFiles(Path.Combine(_dir, "blocks"), "*", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task ImportExport_ThroughFileStore()
    {
        var store = new FileBlockStore(_dir);
        var input = TestData.Bytes("mod251", 50_000);
        var result = await UnixFsImporter.ImportAsync(new MemoryStream(input), store, new ImportOptions { ChunkSize = 4096 });
        var output = new MemoryStream();
        await UnixFsExporter.ExportAsync(result.Root, ExporterTests.From(store), output);
        Assert.Equal(input, output.ToArray());
    }
}
