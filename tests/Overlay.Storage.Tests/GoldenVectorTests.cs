using System.Text.Json;

namespace Overlay.Storage.Tests;

/// <summary>
/// Root CIDs computed by ipfs-unixfs-importer 17.1.1 (see golden/unixfs-vectors.json for versions and options,
/// golden/golden.mjs for the script). Our importer must reproduce every one byte for byte.
/// </summary>
public sealed class GoldenVectorTests
{
    public sealed record Vector(string Gen, long Size, int ChunkSize, int MaxLinks, int Blocks, string Cid)
    {
        public override string ToString() => $"{Gen} size={Size} chunk={ChunkSize} links={MaxLinks}";
    }

    public static TheoryData<Vector> Vectors()
    {
        string path = Path.Combine(AppContext.BaseDirectory, "golden", "unixfs-vectors.json");
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        var data = new TheoryData<Vector>();
        foreach (var v in doc.RootElement.GetProperty("vectors").EnumerateArray())
        {
            data.Add(new Vector(
                v.GetProperty("gen").GetString()!,
                v.GetProperty("size").GetInt64(),
                v.GetProperty("chunkSize").GetInt32(),
                v.GetProperty("maxLinks").GetInt32(),
                v.GetProperty("blocks").GetInt32(),
                v.GetProperty("cid").GetString()!));
        }

        return data;
    }

    [Fact]
    public void VectorFile_CoversTheRequiredShapes()
    {
        var sizes = ((IEnumerable<object[]>)Vectors()).Select(row => (Vector)row[0]).ToList();
        Assert.True(sizes.Count >= 20);
        Assert.Contains(sizes, v => v.Size == 0);
        Assert.Contains(sizes, v => v.Size == (174L * 174 * 1024) + 1 && v.ChunkSize == 1024);
        Assert.Contains(sizes, v => v.ChunkSize == 1_048_576 && v.Size > 3 * 1_048_576);
    }

    [Theory]
    [MemberData(nameof(Vectors))]
    public async Task Importer_MatchesIpfsUnixfsImporter(Vector vector)
    {
        var store = new MemoryBlockStore();
        var options = new ImportOptions { ChunkSize = vector.ChunkSize, MaxLinks = vector.MaxLinks };
        long lastProgress = -1;
        var progress = new SyncProgress(v => lastProgress = v);
        var result = await UnixFsImporter.ImportAsync(new GeneratedStream(vector.Gen, vector.Size), store, options, progress);

        Assert.Equal(vector.Cid, result.Root.ToString());
        Assert.Equal(vector.Size, result.FileBytes);
        Assert.Equal(vector.Blocks, store.Count);
        Assert.True(result.BlockCount >= vector.Blocks);
        Assert.Equal(vector.Size, lastProgress);
    }
}

/// <summary>An IProgress that reports synchronously (Progress&lt;T&gt; posts to the thread pool).</summary>
internal sealed class SyncProgress(Action<long> report) : IProgress<long>
{
    public void Report(long value) => report(value);
}
