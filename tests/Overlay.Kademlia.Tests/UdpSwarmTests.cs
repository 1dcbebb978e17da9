using Overlay.Kademlia;
using Overlay.Testing;

namespace Overlay.Kademlia.Tests;

/// <summary>Starts the 200-node loopback swarm once for the tests of <see cref="UdpSwarmTests"/>.</summary>
public sealed class LargeSwarmFixture : IAsyncLifetime
{
    /// <summary>Nodes in the swarm (the issue asks for at least 200).</summary>
    public const int Size = 200;

    public UdpTestSwarm Swarm { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        using var bound = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        Swarm = await UdpTestSwarm.StartAsync(Size, seed: 2002, cancellationToken: bound.Token);
    }

    public async Task DisposeAsync() => await Swarm.DisposeAsync();
}

/// <summary>Real UDP sockets on 127.0.0.1: 200 nodes in this process, checked against brute-force truth.</summary>
public sealed class UdpSwarmTests(LargeSwarmFixture fixture) : IClassFixture<LargeSwarmFixture>
{
    private static readonly TimeSpan Bound = TimeSpan.FromMinutes(2);

    [Fact]
    public async Task FindNode_FromRandomNodes_ReturnsExactlyTheTrue20Closest_For100RandomTargets()
    {
        var swarm = fixture.Swarm;
        var random = new Random(7);
        using var bound = new CancellationTokenSource(Bound);
        var mismatches = new List<string>();
        for (var i = 0; i < 100; i++)
        {
            var target = NodeId.Random(random);
            var from = swarm.Nodes[random.Next(LargeSwarmFixture.Size)];
            var lookup = await from.FindNodeAsync(target, bound.Token);
            var expected = swarm.TrueClosest(target, KademliaOptions.DefaultBucketSize);
            var actual = lookup.Closest.Select(c => c.Id).ToList();
            if (!expected.SequenceEqual(actual))
            {
                mismatches.Add($"target {target.ToShortString()} from {from.Id.ToShortString()}: {expected.Except(actual).Count()} of the true 20 missing");
            }
        }

        Assert.True(mismatches.Count == 0, $"seed 7: {mismatches.Count} of 100 lookups differ from brute force: {string.Join("; ", mismatches.Take(5))}");
    }

    [Fact]
    public async Task PutOnNodeI_GetOnNodeJ_Succeeds_For100RandomPairs()
    {
        var swarm = fixture.Swarm;
        var random = new Random(11);
        using var bound = new CancellationTokenSource(Bound);
        for (var pair = 0; pair < 100; pair++)
        {
            var i = random.Next(LargeSwarmFixture.Size);
            var j = (i + 1 + random.Next(LargeSwarmFixture.Size - 1)) % LargeSwarmFixture.Size;
            var value = new byte[1 + random.Next(1000)];
            random.NextBytes(value);
            var record = DhtRecord.CreateImmutable(value, DateTimeOffset.UtcNow.AddHours(1));

            var put = await swarm.Nodes[i].PutAsync(record, bound.Token);
            var got = await swarm.Nodes[j].GetAsync(record.Key, bound.Token);

            Assert.True(put.StoredOn >= KademliaOptions.DefaultBucketSize - 1, $"pair {pair}: stored on only {put.StoredOn} nodes");
            Assert.NotNull(got.Record);
            Assert.Equal(value, got.Record.Value.ToArray());
        }
    }
}
