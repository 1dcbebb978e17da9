using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using Overlay.Storage;

namespace Overlay.Bench.Micro;

/// <summary>Block hashing: <see cref="Cid.Compute"/> over a 1 MiB raw block against the bare SHA-256 it wraps.</summary>
[MemoryDiagnoser]
public class HashBenchmarks
{
    private readonly byte[] _block = new byte[1024 * 1024];
    private readonly byte[] _digest = new byte[32];

    /// <summary>Fills the block with seeded bytes.</summary>
    [GlobalSetup]
    public void Setup() => new Random(4).NextBytes(_block);

    /// <summary>The baseline: SHA256.HashData over the same 1 MiB.</summary>
    [Benchmark(Baseline = true, Description = "SHA256.HashData 1 MiB (baseline)")]
    public int Sha256() => SHA256.HashData(_block, _digest);

    /// <summary>The CIDv1 (raw codec, sha2-256 multihash) of the 1 MiB block.</summary>
    [Benchmark(Description = "Cid.Compute(raw) 1 MiB")]
    public Cid CidCompute() => Cid.Compute(Cid.RawCodec, _block);
}
