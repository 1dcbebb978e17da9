namespace Overlay.Storage.Tests;

/// <summary>Mutation fuzzing of untrusted-input decoders: only InvalidDataException/FormatException may escape.</summary>
public sealed class FuzzTests
{
    private const int Seed = 20240601;

    [Fact]
    public async Task DagPbGetLinks_And_Exporter_SurviveMutations()
    {
        var store = new MemoryBlockStore();
        var input = TestData.Bytes("mod251", 40_000);
        var result = await UnixFsImporter.ImportAsync(new MemoryStream(input), store, new ImportOptions { ChunkSize = 100, MaxLinks = 20 });
        var rootBlock = (await store.GetAsync(result.Root))!;
        var seeds = new List<byte[]> { rootBlock };
        foreach (var child in DagPb.GetLinks(result.Root, rootBlock))
        {
            seeds.Add((await store.GetAsync(child))!);
        }

        var rng = new Random(Seed);
        int decoded = 0, rejected = 0;
        for (int iteration = 0; iteration < 5000; iteration++)
        {
            var original = seeds[rng.Next(seeds.Count)];
            var mutated = Mutate(original, rng);
            var cid = Cid.Compute(Cid.DagPbCodec, mutated);
            try
            {
                DagPb.GetLinks(cid, mutated);
                decoded++;
            }
            catch (InvalidDataException)
            {
                rejected++;
            }

            // Serve the mutated block as the root (its CID recomputed, so only structure checks can catch it).
            Func<Cid, CancellationToken, ValueTask<byte[]>> get = async (c, ct) =>
                c == cid ? mutated : (await store.GetAsync(c, ct)) ?? throw new InvalidDataException($"missing {c}");
            try
            {
                await UnixFsExporter.ExportAsync(cid, get, Stream.Null);
            }
            catch (InvalidDataException)
            {
            }
            catch (Exception ex)
            {
                Assert.Fail($"seed {Seed} iteration {iteration}: unexpected {ex.GetType().Name}: {ex.Message}");
            }
        }

        Assert.True(rejected > 100, $"only {rejected} rejections");
        Assert.True(decoded > 0, "no mutation survived decoding");
    }

    [Fact]
    public void CidParse_SurvivesMutations()
    {
        var rng = new Random(Seed);
        var valid = Cid.Compute(Cid.DagPbCodec, [1, 2, 3]);
        var bytes = valid.ToBytes();
        string text = valid.ToString();
        const string chars = "abcdefghijklmnopqrstuvwxyz234567ABQmz1=!";
        for (int i = 0; i < 5000; i++)
        {
            var mb = Mutate(bytes, rng);
            try
            {
                Cid.FromBytes(mb);
            }
            catch (FormatException)
            {
            }

            var tc = text.ToCharArray().ToList();
            int edits = rng.Next(1, 4);
            for (int e = 0; e < edits; e++)
            {
                int op = rng.Next(3);
                int at = rng.Next(tc.Count + (op == 1 ? 1 : 0));
                if (op == 0 && tc.Count > 0 && at < tc.Count)
                {
                    tc[at] = chars[rng.Next(chars.Length)];
                }
                else if (op == 1)
                {
                    tc.Insert(Math.Min(at, tc.Count), chars[rng.Next(chars.Length)]);
                }
                else if (tc.Count > 0 && at < tc.Count)
                {
                    tc.RemoveAt(at);
                }
            }

            string s = new(tc.ToArray());
            if (Cid.TryParse(s, out var parsed))
            {
                Assert.Equal(s, parsed.ToString());
            }
            else
            {
                Assert.Throws<FormatException>(() => Cid.Parse(s));
            }
        }
    }

    internal static byte[] Mutate(byte[] original, Random rng)
    {
        var list = original.ToList();
        int edits = rng.Next(1, 5);
        for (int e = 0; e < edits; e++)
        {
            switch (rng.Next(5))
            {
                case 0 when list.Count > 0:
                    list[rng.Next(list.Count)] ^= (byte)(1 << rng.Next(8));
                    break;
                case 1 when list.Count > 0:
                    list[rng.Next(list.Count)] = (byte)rng.Next(256);
                    break;
                case 2:
                    list.Insert(rng.Next(list.Count + 1), (byte)rng.Next(256));
                    break;
                case 3 when list.Count > 0:
                    list.RemoveAt(rng.Next(list.Count));
                    break;
                case 4 when list.Count > 0:
                    int start = rng.Next(list.Count);
                    list.RemoveRange(start, rng.Next(1, list.Count - start + 1));
                    break;
                default:
                    break;
            }
        }

        return list.ToArray();
    }
}
