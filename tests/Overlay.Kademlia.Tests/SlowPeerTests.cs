using System.Net;
using Overlay.Kademlia;
using Overlay.Kademlia.Internal;

namespace Overlay.Kademlia.Tests;

/// <summary>The soft timeout of lookup queries: a slow peer frees its slot but its late answer still counts.</summary>
public sealed class SlowPeerTests
{
    private static NodeContact Contact(Random random, int port) => new(NodeId.Random(random), new IPEndPoint(IPAddress.Loopback, port));

    [Fact]
    public void SlowPeer_FreesItsSlot_AndItsLateAnswerStillCounts()
    {
        var random = new Random(3);
        var target = NodeId.Random(random);
        var seeds = Enumerable.Range(0, 4).Select(i => Contact(random, 1000 + i)).ToList();
        var iterator = new ClosestPeersIterator(target, bucketSize: 4, alpha: 1, seeds, self: null);

        Assert.True(iterator.TryGetNext(out var first, out _));
        Assert.False(iterator.TryGetNext(out _, out _));
        iterator.OnSlow(first.Id);
        Assert.True(iterator.TryGetNext(out var second, out _));
        Assert.False(iterator.TryGetNext(out _, out _));

        iterator.OnSuccess(first.Id, []);
        Assert.False(iterator.TryGetNext(out _, out _));
        iterator.OnSuccess(second.Id, []);
        Assert.True(iterator.TryGetNext(out var third, out _));
        iterator.OnSuccess(third.Id, []);
        Assert.True(iterator.TryGetNext(out var fourth, out _));
        iterator.OnSuccess(fourth.Id, []);

        Assert.True(iterator.IsFinished);
        Assert.Contains(first, iterator.Result());
        Assert.Equal(4, iterator.Result().Count);
    }

    [Fact]
    public void SlowPeer_AmongTheClosest_HoldsTheLookupOpen_UntilItFails()
    {
        var random = new Random(4);
        var target = NodeId.Random(random);
        var seeds = Enumerable.Range(0, 3).Select(i => Contact(random, 2000 + i)).OrderBy(c => c.Id.DistanceTo(target)).ToList();
        var iterator = new ClosestPeersIterator(target, bucketSize: 2, alpha: 3, seeds, self: null);
        for (var i = 0; i < 3; i++)
        {
            Assert.True(iterator.TryGetNext(out _, out _));
        }

        iterator.OnSlow(seeds[0].Id);
        iterator.OnSuccess(seeds[1].Id, []);
        Assert.False(iterator.IsFinished);
        iterator.OnFailure(seeds[0].Id);
        iterator.OnSuccess(seeds[2].Id, []);

        Assert.True(iterator.IsFinished);
        Assert.Equal([seeds[1], seeds[2]], iterator.Result());
        Assert.Equal(1, iterator.Failures);
    }
}
