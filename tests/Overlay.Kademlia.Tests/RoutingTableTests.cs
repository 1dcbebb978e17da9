using Overlay.Kademlia.Internal;

namespace Overlay.Kademlia.Tests;

/// <summary>The k-bucket table (paper §2.2, §4.1): closest-k against brute force, eviction by PING, replacement cache.</summary>
public sealed class RoutingTableTests
{
    private const int Seed = 777;

    [Fact]
    public void Closest_EqualsBruteForce_For200Targets()
    {
        var random = new Random(Seed);
        var self = NodeId.Random(random);
        var table = new RoutingTable(self, bucketSize: 20);

        // Uniform IDs fill the shallow buckets; IDs built near self populate the deep ones too.
        var candidates = TestIds.RandomIds(random, 500);
        for (var prefix = 0; prefix < 40; prefix++)
        {
            for (var n = 0; n < 15; n++)
            {
                candidates.Add(TestIds.WithPrefix(self, prefix, random));
            }
        }

        var accepted = new Dictionary<int, List<NodeId>>();
        var pingPending = new HashSet<int>();
        for (var i = 0; i < candidates.Count; i++)
        {
            var id = candidates[i];
            var bucket = self.CommonPrefixLength(id);
            var members = accepted.TryGetValue(bucket, out var m) ? m : accepted[bucket] = [];
            var head = table.Update(TestIds.Contact(id, i), now: 0);
            if (members.Count < 20)
            {
                // Room left: inserted, nothing to ping.
                Assert.Null(head);
                members.Add(id);
            }
            else
            {
                // Full: the first newcomer asks to ping the head; later ones wait while that ping is pending.
                Assert.Equal(pingPending.Add(bucket) ? members[0] : null, head?.Id);
            }
        }

        var inserted = accepted.Values.SelectMany(v => v).ToHashSet();
        Assert.Equal(inserted.Count, table.Count);
        Assert.Equal(inserted.OrderBy(id => id), table.All().Select(c => c.Id).OrderBy(id => id));
        Assert.Equal(accepted.Count, table.NonEmptyBuckets());
        Assert.True(inserted.Count > 500, $"only {inserted.Count} contacts inserted");

        var counts = new[] { 1, 3, 8, 20, 60, 1000 };
        for (var t = 0; t < 200; t++)
        {
            // Mix uniform targets with targets deep in self's range and self itself (the "buckets below" branch).
            var target = (t % 4) switch
            {
                0 or 1 => NodeId.Random(random),
                2 => TestIds.WithPrefix(self, random.Next(1, 45), random),
                _ => t % 20 == 3 ? self : candidates[random.Next(candidates.Count)],
            };
            var count = counts[t % counts.Length];

            var expected = TestIds.BruteForceClosest(inserted, target, count);
            var actual = table.Closest(target, count).Select(c => c.Id).ToList();

            Assert.True(expected.SequenceEqual(actual), $"seed {Seed}, target #{t} {target}, count {count}: got {actual.Count} contacts, expected {expected.Count}");
        }
    }

    [Fact]
    public void Closest_OnEmptyTable_IsEmpty()
    {
        var table = new RoutingTable(NodeId.Random(new Random(Seed)), 20);
        Assert.Empty(table.Closest(NodeId.Random(new Random(Seed + 1)), 20));
        Assert.Empty(table.All());
    }

    [Fact]
    public void Self_IsNeverInserted()
    {
        var random = new Random(Seed);
        var self = NodeId.Random(random);
        var table = new RoutingTable(self, 4);

        Assert.Null(table.Update(TestIds.Contact(self), 0));
        table.OnFailure(self);

        Assert.Equal(0, table.Count);
        Assert.False(table.Contains(self));
        Assert.False(table.HasRoomFor(self));
        Assert.Empty(table.Closest(self, 10));
        Assert.Empty(table.All());
    }

    [Fact]
    public void Update_KnownContact_MovesItToTail_AndRefreshesEndpoint()
    {
        var (table, self, ids, random) = FullBucket(k: 4);
        var moved = TestIds.Contact(ids[0], 999);
        Assert.Null(table.Update(moved, 1));
        Assert.Equal(4, table.Count);
        Assert.Contains(moved, table.All());

        // ids[0] is now most recently seen, so the head to ping for a newcomer is ids[1].
        var head = table.Update(TestIds.Contact(self.RandomInBucket(0, random), 50), 2);
        Assert.Equal(ids[1], head?.Id);
    }

    [Fact]
    public void FullBucket_ReturnsHeadForPing_AndKeepsNewcomerInReplacementCache()
    {
        var (table, self, ids, random) = FullBucket(k: 4);
        Assert.False(table.HasRoomFor(self.RandomInBucket(0, random)));
        Assert.True(table.HasRoomFor(self.RandomInBucket(1, random)));

        var newcomer = self.RandomInBucket(0, random);
        var head = table.Update(TestIds.Contact(newcomer, 10), 1);

        Assert.Equal(ids[0], head?.Id);
        Assert.False(table.Contains(newcomer));
        Assert.Equal(4, table.Count);

        // A second newcomer while the ping is pending: no second ping.
        var second = self.RandomInBucket(0, random);
        Assert.Null(table.Update(TestIds.Contact(second, 11), 1));
        Assert.False(table.Contains(second));
    }

    [Fact]
    public void OnEvictionPing_Unanswered_ReplacesHeadWithNewestReplacement()
    {
        var (table, self, ids, random) = FullBucket(k: 4);
        var older = self.RandomInBucket(0, random);
        var newest = self.RandomInBucket(0, random);
        var head = table.Update(TestIds.Contact(older, 10), 1)!;
        table.Update(TestIds.Contact(newest, 11), 1);

        table.OnEvictionPing(head, answered: false);

        Assert.False(table.Contains(ids[0]));
        Assert.True(table.Contains(newest));
        Assert.False(table.Contains(older));
        Assert.Equal(4, table.Count);

        // The pending flag is cleared: the next newcomer triggers a new ping, of the new head ids[1].
        Assert.Equal(ids[1], table.Update(TestIds.Contact(self.RandomInBucket(0, random), 12), 2)?.Id);
    }

    [Fact]
    public void OnEvictionPing_Answered_KeepsHeadAndMovesItToTail()
    {
        var (table, self, ids, random) = FullBucket(k: 4);
        var newcomer = self.RandomInBucket(0, random);
        var head = table.Update(TestIds.Contact(newcomer, 10), 1)!;

        table.OnEvictionPing(head, answered: true);

        Assert.True(table.Contains(ids[0]));
        Assert.False(table.Contains(newcomer));
        Assert.Equal(4, table.Count);

        // Head is now ids[1]; ids[0] went to the tail.
        Assert.Equal(ids[1], table.Update(TestIds.Contact(self.RandomInBucket(0, random), 12), 2)?.Id);

        // The newcomer still waits in the replacement cache: a failure promotes it (or a later newcomer) at once.
        var before = table.All().Select(c => c.Id).ToHashSet();
        table.OnFailure(ids[2]);
        Assert.False(table.Contains(ids[2]));
        Assert.Equal(4, table.Count);
        Assert.Single(table.All().Select(c => c.Id).Except(before));
    }

    [Fact]
    public void OnEvictionPing_ForUnknownContact_IsIgnored()
    {
        var (table, self, _, random) = FullBucket(k: 4);
        table.OnEvictionPing(TestIds.Contact(self.RandomInBucket(0, random)), answered: false);
        table.OnEvictionPing(TestIds.Contact(self.RandomInBucket(7, random)), answered: false);
        Assert.Equal(4, table.Count);
    }

    [Fact]
    public void OnFailure_EvictsAfterMaxFailures_WhenNoReplacementWaits()
    {
        var (table, _, ids, _) = FullBucket(k: 4);
        for (var i = 1; i < RoutingTable.MaxFailures; i++)
        {
            table.OnFailure(ids[2]);
            Assert.True(table.Contains(ids[2]), $"evicted after {i} failures");
        }

        table.OnFailure(ids[2]);
        Assert.False(table.Contains(ids[2]));
        Assert.Equal(3, table.Count);
    }

    [Fact]
    public void OnFailure_CountIsResetByAnAnswer()
    {
        var (table, _, ids, _) = FullBucket(k: 4);
        for (var i = 1; i < RoutingTable.MaxFailures; i++)
        {
            table.OnFailure(ids[1]);
        }

        table.Update(TestIds.Contact(ids[1], 1), 5);
        for (var i = 1; i < RoutingTable.MaxFailures; i++)
        {
            table.OnFailure(ids[1]);
        }

        Assert.True(table.Contains(ids[1]));
    }

    [Fact]
    public void OnFailure_EvictsImmediately_WhenReplacementWaits()
    {
        var (table, self, ids, random) = FullBucket(k: 4);
        var waiting = self.RandomInBucket(0, random);
        table.Update(TestIds.Contact(waiting, 10), 1);

        table.OnFailure(ids[3]);

        Assert.False(table.Contains(ids[3]));
        Assert.True(table.Contains(waiting));
        Assert.Equal(4, table.Count);
    }

    [Fact]
    public void OnFailure_ForUnknownId_IsIgnored()
    {
        var (table, self, _, random) = FullBucket(k: 4);
        table.OnFailure(self.RandomInBucket(0, random));
        table.OnFailure(self.RandomInBucket(100, random));
        Assert.Equal(4, table.Count);
    }

    [Fact]
    public void ReplacementCache_KeepsTheKMostRecent_PromotesNewestFirst()
    {
        const int k = 4;
        var (table, self, ids, random) = FullBucket(k);
        var newcomers = Enumerable.Range(0, 3 * k).Select(_ => self.RandomInBucket(0, random)).ToList();
        for (var i = 0; i < newcomers.Count; i++)
        {
            table.Update(TestIds.Contact(newcomers[i], 100 + i), 1);
        }

        // Evict all original contacts (and then the promoted ones) by failure; each eviction promotes the newest.
        var promoted = new List<NodeId>();
        foreach (var id in ids)
        {
            var before = table.All().Select(c => c.Id).ToHashSet();
            table.OnFailure(id);
            promoted.AddRange(table.All().Select(c => c.Id).Except(before));
        }

        Assert.Equal(newcomers.AsEnumerable().Reverse().Take(k), promoted);

        // The cache is now empty: failures need MaxFailures again.
        table.OnFailure(promoted[0]);
        Assert.True(table.Contains(promoted[0]));
    }

    [Fact]
    public void StaleBuckets_ListsUntouchedBucketsUpToTheDeepestNonEmpty()
    {
        var random = new Random(Seed);
        var self = NodeId.Random(random);
        var table = new RoutingTable(self, 20);
        Assert.Empty(table.StaleBuckets(long.MaxValue));

        table.Update(TestIds.Contact(self.RandomInBucket(0, random)), now: 100);
        table.Update(TestIds.Contact(self.RandomInBucket(3, random)), now: 100);
        table.Update(TestIds.Contact(self.RandomInBucket(7, random)), now: 100);

        // Buckets never created count as never touched; existing ones were touched at creation (100).
        Assert.Equal([1, 2, 4, 5, 6], table.StaleBuckets(staleBefore: 50));
        Assert.Equal([0, 1, 2, 3, 4, 5, 6, 7], table.StaleBuckets(staleBefore: 200));

        table.Touch(self.RandomInBucket(3, random), now: 300);
        table.Touch(self.RandomInBucket(5, random), now: 300);
        Assert.Equal([0, 1, 2, 4, 6, 7], table.StaleBuckets(staleBefore: 200));

        // Touching self's own ID (no bucket) changes nothing; a touched but empty deep bucket does not extend the range.
        table.Touch(self, now: 400);
        table.Touch(self.RandomInBucket(30, random), now: 400);
        Assert.Equal([0, 1, 2, 4, 6, 7], table.StaleBuckets(staleBefore: 200));
    }

    [Fact]
    public void HasRoomFor_AndContains_TrackBucketOccupancy()
    {
        var random = new Random(Seed);
        var self = NodeId.Random(random);
        var table = new RoutingTable(self, 2);
        var a = self.RandomInBucket(5, random);
        var b = self.RandomInBucket(5, random);
        Assert.True(table.HasRoomFor(a));
        table.Update(TestIds.Contact(a), 0);
        Assert.True(table.Contains(a));
        Assert.False(table.Contains(b));
        Assert.True(table.HasRoomFor(b));
        table.Update(TestIds.Contact(b), 0);
        Assert.False(table.HasRoomFor(self.RandomInBucket(5, random)));
        Assert.True(table.HasRoomFor(self.RandomInBucket(6, random)));
    }

    private static (RoutingTable Table, NodeId Self, List<NodeId> Ids, Random Random) FullBucket(int k)
    {
        var random = new Random(Seed);
        var self = NodeId.Random(random);
        var table = new RoutingTable(self, k);
        var ids = new List<NodeId>();
        for (var i = 0; i < k; i++)
        {
            var id = self.RandomInBucket(0, random);
            ids.Add(id);
            Assert.Null(table.Update(TestIds.Contact(id, i), 0));
        }

        Assert.Equal(k, table.Count);
        return (table, self, ids, random);
    }
}
