using BenchmarkDotNet.Attributes;
using Overlay.Kademlia;

namespace Overlay.Bench.Micro;

/// <summary>XOR distance and common prefix length (the k-bucket index) on <see cref="NodeId"/>: the inner loop of every lookup and table access.</summary>
[MemoryDiagnoser]
public class NodeIdBenchmarks
{
    private const int Pairs = 1024;
    private readonly NodeId[] _a = new NodeId[Pairs];
    private readonly NodeId[] _b = new NodeId[Pairs];

    /// <summary>Draws 1,024 seeded ID pairs.</summary>
    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(1);
        for (var i = 0; i < Pairs; i++)
        {
            _a[i] = NodeId.Random(random);
            _b[i] = NodeId.Random(random);
        }
    }

    /// <summary>XOR distance of 1,024 pairs, folded so the JIT cannot drop it.</summary>
    [Benchmark(OperationsPerInvoke = Pairs, Description = "NodeId.DistanceTo (XOR)")]
    public int XorDistance()
    {
        var zero = 0;
        for (var i = 0; i < Pairs; i++)
        {
            zero += _a[i].DistanceTo(_b[i]).IsZero ? 1 : 0;
        }

        return zero;
    }

    /// <summary>Common prefix length (bucket index) of 1,024 pairs.</summary>
    [Benchmark(OperationsPerInvoke = Pairs, Description = "NodeId.CommonPrefixLength")]
    public int CommonPrefixLength()
    {
        var sum = 0;
        for (var i = 0; i < Pairs; i++)
        {
            sum += _a[i].CommonPrefixLength(_b[i]);
        }

        return sum;
    }
}
