using Overlay.Kademlia.Internal;

namespace Overlay.Kademlia.Tests;

/// <summary>
/// The sans-IO lookup state machine (paper §2.3) driven against a synthetic network of 2,000 nodes, each answering
/// from its own k-bucket routing table; results are checked against brute-force truth.
/// </summary>
public sealed class ClosestPeersIteratorTests
{
    private const int Seed = 4242;
    private const int K = 20;
    private const int Alpha = 3;

    [Fact]
    public void Lookup_FindsTheBruteForceClosest_For100Targets()
    {
        var network = new SyntheticNetwork(Seed, 2000);
        var random = new Random(Seed + 1);
        for (var t = 0; t < 100; t++)
        {
            var target = NodeId.Random(random);
            var source = network.Ids[random.Next(network.Ids.Count)];
            var run = network.Lookup(source, target, random, failing: null);

            var expected = TestIds.BruteForceClosest(network.Ids, target, K);
            Assert.True(expected.SequenceEqual(run.Result), $"seed {Seed}, target #{t} {target}: {run.Result.Intersect(expected).Count()} of {K} found");
            Assert.Equal(0, run.Failures);
            Assert.True(run.MaxDepth >= 1);
        }
    }

    [Fact]
    public void Lookup_ExcludesFailedPeers_AndFindsTheClosestLivePeersItHeardOf()
    {
        // 15% of nodes are dead but still listed in others' tables (stale entries), so they fail when queried.
        var network = new SyntheticNetwork(Seed + 10, 2000);
        var random = new Random(Seed + 11);
        var failing = network.Ids.Where(_ => random.NextDouble() < 0.15).ToHashSet();
        int sawFailures = 0, found = 0;
        const int targets = 40;
        for (var t = 0; t < targets; t++)
        {
            var target = NodeId.Random(random);
            NodeId source;
            do
            {
                source = network.Ids[random.Next(network.Ids.Count)];
            }
            while (failing.Contains(source));

            var run = network.Lookup(source, target, random, failing);

            // Exact: among every peer the lookup heard of, the k closest live ones are the result.
            var expectedHeard = TestIds.BruteForceClosest(run.Heard.Append(source).Where(id => !failing.Contains(id)), target, K);
            Assert.DoesNotContain(run.Result, failing.Contains);
            Assert.True(expectedHeard.SequenceEqual(run.Result), $"seed {Seed + 10}, target #{t} {target}: result differs from the closest live peers heard of");
            sawFailures += run.Failures;

            // Against global truth the protocol itself can miss a live peer: responders return their k closest,
            // dead ones included, so a live peer ranked just past k overall may never be named. Bound the loss.
            var truth = TestIds.BruteForceClosest(network.Ids.Where(id => !failing.Contains(id)), target, K);
            found += run.Result.Intersect(truth).Count();
        }

        Assert.True(sawFailures > 0, "no query ever failed: the failure path was not exercised");
        Assert.True(found >= 0.97 * targets * K, $"found {found} of {targets * K} closest live peers");
    }

    [Fact]
    public void EmptySeeds_FinishAtOnce_WithSelfOnly()
    {
        var self = TestIds.Contact(NodeId.Random(new Random(Seed)));
        var iterator = new ClosestPeersIterator(NodeId.Random(new Random(Seed + 1)), K, Alpha, [], self);

        Assert.True(iterator.IsFinished);
        Assert.False(iterator.TryGetNext(out _, out _));
        Assert.Equal([self], iterator.Result());
        Assert.Equal(0, iterator.Queried);
    }

    [Fact]
    public void TryGetNext_HandsOutClosestFirst_AtMostAlphaInFlight_NeverSelf()
    {
        var random = new Random(Seed);
        var target = NodeId.Random(random);
        var self = TestIds.Contact(NodeId.Random(random));
        var seeds = TestIds.RandomIds(random, 10).Select((id, i) => TestIds.Contact(id, i)).ToList();
        var iterator = new ClosestPeersIterator(target, K, Alpha, seeds, self);
        var byDistance = seeds.OrderBy(c => c.Id.DistanceTo(target)).ToList();

        var handed = new List<NodeContact>();
        while (iterator.TryGetNext(out var next, out var depth))
        {
            Assert.Equal(1, depth);
            handed.Add(next);
        }

        Assert.Equal(byDistance.Take(Alpha), handed);
        Assert.False(iterator.IsFinished);

        // One answer frees one slot, which goes to the next-closest heard peer.
        iterator.OnSuccess(handed[1].Id, []);
        Assert.True(iterator.TryGetNext(out var fourth, out _));
        Assert.Equal(byDistance[Alpha], fourth);
        Assert.False(iterator.TryGetNext(out _, out _));

        // A failure also frees a slot.
        iterator.OnFailure(handed[0].Id);
        Assert.True(iterator.TryGetNext(out var fifth, out _));
        Assert.Equal(byDistance[Alpha + 1], fifth);
        Assert.Equal(5, iterator.Queried);
        Assert.Equal(1, iterator.Failures);
    }

    [Fact]
    public void Answers_ForPeersNotInFlight_AreIgnored()
    {
        var random = new Random(Seed);
        var target = NodeId.Random(random);
        var seeds = TestIds.RandomIds(random, 5).Select((id, i) => TestIds.Contact(id, i)).ToList();
        var iterator = new ClosestPeersIterator(target, K, Alpha, seeds, self: null);
        Assert.True(iterator.TryGetNext(out var first, out _));

        var stranger = NodeId.Random(random);
        iterator.OnSuccess(stranger, [TestIds.Contact(NodeId.Random(random))]);
        iterator.OnFailure(stranger);
        var notQueried = seeds.First(c => c != first);
        iterator.OnSuccess(notQueried.Id, []);
        iterator.OnFailure(notQueried.Id);

        iterator.OnSuccess(first.Id, []);
        iterator.OnSuccess(first.Id, []);
        iterator.OnFailure(first.Id);

        Assert.Equal([first], iterator.Result());
        Assert.Equal(0, iterator.Failures);
        Assert.Equal(1, iterator.Queried);
    }

    [Fact]
    public void Finishes_WhenKClosestAnswered_EvenWithFartherPeersUnqueried()
    {
        var random = new Random(Seed);
        var target = NodeId.Random(random);
        const int k = 3;

        // Near peers share a long prefix with the target; far ones do not.
        var near = Enumerable.Range(0, k).Select(i => TestIds.Contact(TestIds.WithPrefix(target, 100 + i, random), i)).ToList();
        var far = Enumerable.Range(0, 6).Select(i => TestIds.Contact(TestIds.WithPrefix(target, i, random), 10 + i)).ToList();
        var iterator = new ClosestPeersIterator(target, k, alpha: 1, near, self: null);

        // The first near peer names the far ones: they are heard but farther than k answered peers.
        Assert.True(iterator.TryGetNext(out var a, out _));
        iterator.OnSuccess(a.Id, far);
        for (var i = 1; i < k; i++)
        {
            Assert.True(iterator.TryGetNext(out var next, out var depth));
            Assert.Equal(1, depth);
            iterator.OnSuccess(next.Id, []);
        }

        Assert.True(iterator.IsFinished);
        Assert.False(iterator.TryGetNext(out _, out _));
        Assert.Equal(near.OrderBy(c => c.Id.DistanceTo(target)), iterator.Result());
        Assert.Equal(k, iterator.Queried);
    }

    [Fact]
    public void Depth_CountsHops_FromTheSeeds()
    {
        var random = new Random(Seed);
        var target = NodeId.Random(random);
        var seed = TestIds.Contact(TestIds.WithPrefix(target, 1, random), 1);
        var hop2 = TestIds.Contact(TestIds.WithPrefix(target, 10, random), 2);
        var hop3 = TestIds.Contact(TestIds.WithPrefix(target, 20, random), 3);
        var iterator = new ClosestPeersIterator(target, K, Alpha, [seed], self: null);

        Assert.True(iterator.TryGetNext(out var c1, out var d1));
        iterator.OnSuccess(c1.Id, [hop2]);
        Assert.True(iterator.TryGetNext(out var c2, out var d2));
        iterator.OnSuccess(c2.Id, [hop3, seed]);
        Assert.True(iterator.TryGetNext(out var c3, out var d3));
        iterator.OnSuccess(c3.Id, []);

        Assert.Equal((seed, 1), (c1, d1));
        Assert.Equal((hop2, 2), (c2, d2));
        Assert.Equal((hop3, 3), (c3, d3));
        Assert.Equal(3, iterator.MaxDepth);
        Assert.True(iterator.IsFinished);
        Assert.Equal([hop3, hop2, seed], iterator.Result());
    }

    [Fact]
    public void ManyHeardPeers_AreBoundedButTheClosestAreKept()
    {
        var random = new Random(Seed);
        var target = NodeId.Random(random);
        var seed = TestIds.Contact(TestIds.WithPrefix(target, 2, random), 0);
        var iterator = new ClosestPeersIterator(target, bucketSize: 4, alpha: 1, [seed], self: null);
        Assert.True(iterator.TryGetNext(out var first, out _));

        // 1,000 peers heard from one answer: far more than the 8k = 32 the iterator keeps.
        var named = TestIds.RandomIds(random, 1000).Select((id, i) => TestIds.Contact(id, i + 1)).ToList();
        iterator.OnSuccess(first.Id, named);

        var queried = new List<NodeContact>();
        while (iterator.TryGetNext(out var next, out _))
        {
            queried.Add(next);
            iterator.OnSuccess(next.Id, []);
        }

        var expected = named.Append(seed).OrderBy(c => c.Id.DistanceTo(target)).Take(4).ToList();
        Assert.True(iterator.IsFinished);
        Assert.Equal(expected, iterator.Result());
    }

    [Fact]
    public void DuplicateSeeds_DoNotStallTheLookup()
    {
        var random = new Random(Seed);
        var target = NodeId.Random(random);
        var a = TestIds.Contact(NodeId.Random(random), 1);
        var b = TestIds.Contact(NodeId.Random(random), 2);
        var iterator = new ClosestPeersIterator(target, K, Alpha, [a, b, a], self: null);

        for (var step = 0; step < 10 && !iterator.IsFinished; step++)
        {
            var asked = new List<NodeContact>();
            while (iterator.TryGetNext(out var next, out _))
            {
                asked.Add(next);
            }

            foreach (var peer in asked)
            {
                iterator.OnSuccess(peer.Id, []);
            }
        }

        Assert.True(iterator.IsFinished, "lookup with a duplicated seed never finished");
        Assert.Equal(2, iterator.Queried);
        Assert.Equal(new[] { a, b }.OrderBy(c => c.Id.DistanceTo(target)), iterator.Result());
    }

    /// <summary>2,000 seeded nodes; each node's k-bucket table holds (up to k per bucket) all others, in a per-node random order.</summary>
    private sealed class SyntheticNetwork
    {
        private readonly int _seed;
        private readonly Dictionary<NodeId, RoutingTable> _tables = [];
        private readonly Dictionary<NodeId, NodeContact> _contacts = [];

        public SyntheticNetwork(int seed, int size)
        {
            _seed = seed;
            Ids = TestIds.RandomIds(new Random(seed), size);
            for (var i = 0; i < Ids.Count; i++)
            {
                _contacts[Ids[i]] = TestIds.Contact(Ids[i], i);
            }
        }

        public List<NodeId> Ids { get; }

        /// <summary>Runs one lookup, answering in-flight queries in seeded random order; asserts the concurrency bound.</summary>
        public LookupRun Lookup(NodeId source, NodeId target, Random random, HashSet<NodeId>? failing)
        {
            var seeds = TableOf(source).Closest(target, K);
            var heard = seeds.Select(c => c.Id).ToHashSet();
            var iterator = new ClosestPeersIterator(target, K, Alpha, seeds, _contacts[source]);
            var inFlight = new List<NodeContact>();
            var sent = 0;
            for (var step = 0; ; step++)
            {
                Assert.True(step < 10_000, $"lookup for {target} did not finish in 10,000 steps");
                while (iterator.TryGetNext(out var next, out _))
                {
                    Assert.NotEqual(source, next.Id);
                    Assert.DoesNotContain(next, inFlight);
                    inFlight.Add(next);
                    sent++;
                    Assert.True(inFlight.Count <= Alpha, $"{inFlight.Count} queries in flight (alpha {Alpha})");
                }

                if (inFlight.Count == 0)
                {
                    break;
                }

                var index = random.Next(inFlight.Count);
                var peer = inFlight[index];
                inFlight.RemoveAt(index);
                if (failing?.Contains(peer.Id) == true)
                {
                    iterator.OnFailure(peer.Id);
                }
                else
                {
                    var closer = TableOf(peer.Id).Closest(target, K);
                    heard.UnionWith(closer.Select(c => c.Id));
                    iterator.OnSuccess(peer.Id, closer);
                }
            }

            Assert.True(iterator.IsFinished, "no query in flight and none to send, yet not finished");
            Assert.Equal(sent, iterator.Queried);
            var result = iterator.Result();
            Assert.Equal(result.OrderBy(c => c.Id.DistanceTo(target)), result);
            return new LookupRun(result.Select(c => c.Id).ToList(), iterator.Failures, iterator.MaxDepth, heard);
        }

        private RoutingTable TableOf(NodeId id)
        {
            if (_tables.TryGetValue(id, out var table))
            {
                return table;
            }

            table = new RoutingTable(id, K);
            var order = Ids.ToArray();
            new Random(unchecked((_seed * 7919) + Ids.IndexOf(id))).Shuffle(order);
            // Same contents as updating with every node in this order (a full bucket keeps its first k), without
            // paying for thousands of replacement-cache updates per table.
            var perBucket = new int[NodeId.Bits + 1];
            foreach (var other in order)
            {
                if (perBucket[id.CommonPrefixLength(other)]++ < K)
                {
                    Assert.Null(table.Update(_contacts[other], now: 0));
                }
            }

            _tables[id] = table;
            return table;
        }
    }

    private sealed record LookupRun(List<NodeId> Result, int Failures, int MaxDepth, HashSet<NodeId> Heard);
}
