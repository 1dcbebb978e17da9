using System.Net;
using BenchmarkDotNet.Attributes;
using Google.Protobuf;
using Overlay.Kademlia;
using Overlay.Kademlia.Internal;
using Overlay.Kademlia.Wire;

namespace Overlay.Bench.Micro;

/// <summary>
/// <see cref="RoutingTable.Closest"/> on a table of 2,000 contacts (buckets 0..99 full with k = 20, seeded) and on one
/// of 40 random contacts (what the node of the UDP RPC benchmark holds), and the whole answer a node builds for
/// FIND_NODE: closest 20, converted to wire contacts, encoded.
/// </summary>
[MemoryDiagnoser]
public class RoutingTableBenchmarks
{
    private const int Targets = 256;
    private readonly NodeId[] _targets = new NodeId[Targets];
    private RoutingTable _table = null!;
    private NodeId _self;
    private byte[] _selfBytes = [];
    private int _next;

    /// <summary>Gets or sets the table size: 2,000 (buckets 0..99 full) or 40 (random IDs, as a small swarm gives).</summary>
    [Params(2000, 40)]
    public int Contacts { get; set; }

    /// <summary>Fills the table: 20 contacts in each of buckets 0..99, or 40 random IDs; IDs and ports seeded.</summary>
    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(2);
        _self = NodeId.Random(random);
        _selfBytes = _self.ToArray();
        _table = new RoutingTable(_self, 20);
        for (var n = 0; _table.Count < Contacts && n < 100_000; n++)
        {
            var id = Contacts == 2000 ? _self.RandomInBucket(n / 20, random) : NodeId.Random(random);
            _table.Update(new NodeContact(id, new IPEndPoint(IPAddress.Loopback, 10000 + (n % 50000))), 0);
        }

        if (_table.Count != Contacts)
        {
            throw new InvalidOperationException($"Expected {Contacts} contacts in the table; got {_table.Count}.");
        }

        for (var i = 0; i < Targets; i++)
        {
            _targets[i] = NodeId.Random(random);
        }
    }

    /// <summary>The 20 closest contacts to a random target.</summary>
    [Benchmark(Description = "RoutingTable.Closest(target, 20)")]
    public List<NodeContact> Closest() => _table.Closest(_targets[_next++ & (Targets - 1)], 20);

    /// <summary>What KademliaNode does for FIND_NODE after parsing: closest 20 entries, then their cached encodings into the datagram.</summary>
    [Benchmark(Description = "FIND_NODE answer: ClosestEntries + NodesAnswer.Write")]
    public int FindNodeAnswer()
    {
        var target = _targets[_next++ & (Targets - 1)];
        Span<byte> buffer = stackalloc byte[KademliaOptions.MaxDatagramBytes];
        return NodesAnswer.Write(buffer, 0xdeadbeef, _selfBytes, default, _table.ClosestEntries(target, 20), default, out _);
    }
}
