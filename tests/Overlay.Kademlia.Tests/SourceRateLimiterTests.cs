using System.Net;
using Overlay.Kademlia.Internal;

namespace Overlay.Kademlia.Tests;

/// <summary>The token buckets behind the request and verification limits, stepped with explicit timestamps (1 tick = 1 ms).</summary>
public sealed class SourceRateLimiterTests
{
    private const long Frequency = 1000;
    private const ulong Seed = 12345;
    private static readonly SourceKey A = SourceKey.Of(new IPEndPoint(IPAddress.Parse("203.0.113.7"), 4001));
    private static readonly SourceKey B = SourceKey.Of(new IPEndPoint(IPAddress.Parse("203.0.113.8"), 4001));

    [Fact]
    public void Source_BurstsToItsBucket_ThenGetsItsRate()
    {
        var limiter = new SourceRateLimiter(10, 10, 0, 0, 100, Frequency, now: 0);

        Assert.Equal(10, Enumerable.Range(0, 50).Count(_ => limiter.TryAcquire(A, 0) == RateDecision.Admitted));
        Assert.Equal(RateDecision.SourceLimited, limiter.TryAcquire(A, 0));
        Assert.Equal(RateDecision.Admitted, limiter.TryAcquire(B, 0));

        // 10 per second: one token per 100 ms.
        Assert.Equal(RateDecision.SourceLimited, limiter.TryAcquire(A, 99));
        Assert.Equal(RateDecision.Admitted, limiter.TryAcquire(A, 100));
        Assert.Equal(RateDecision.SourceLimited, limiter.TryAcquire(A, 150));
        Assert.Equal(5, Enumerable.Range(0, 20).Count(_ => limiter.TryAcquire(A, 650) == RateDecision.Admitted));
    }

    [Fact]
    public void GlobalBucket_CapsAllSourcesTogether()
    {
        var limiter = new SourceRateLimiter(10, 10, 15, 15, 100, Frequency, now: 0);

        var a = Enumerable.Range(0, 10).Count(_ => limiter.TryAcquire(A, 0) == RateDecision.Admitted);
        var b = Enumerable.Range(0, 10).Select(_ => limiter.TryAcquire(B, 0)).ToList();

        Assert.Equal(10, a);
        Assert.Equal(5, b.Count(d => d == RateDecision.Admitted));
        Assert.Equal(5, b.Count(d => d == RateDecision.GlobalLimited));
    }

    [Fact]
    public void LoopbackSources_CountPerPort_OtherSourcesPerAddress()
    {
        Assert.NotEqual(SourceKey.Of(new IPEndPoint(IPAddress.Loopback, 1)), SourceKey.Of(new IPEndPoint(IPAddress.Loopback, 2)));
        Assert.Equal(SourceKey.Of(new IPEndPoint(IPAddress.Parse("203.0.113.7"), 1)), SourceKey.Of(new IPEndPoint(IPAddress.Parse("203.0.113.7"), 2)));
        Assert.Equal(SourceKey.Of(new IPEndPoint(IPAddress.Parse("203.0.113.7"), 1)), SourceKey.Of(new IPEndPoint(IPAddress.Parse("::ffff:203.0.113.7"), 9)));
        Assert.NotEqual(SourceKey.Of(new IPEndPoint(IPAddress.Parse("2001:db8::1"), 1)), SourceKey.Of(new IPEndPoint(IPAddress.Parse("2001:db8::2"), 1)));
    }

    [Fact]
    public void LightSources_AreNotTracked_HeavyOnesAre_AndAFullTableSendsFreshHeavySourcesToOneSharedBucket()
    {
        var limiter = new SourceRateLimiter(8, 8, 0, 0, maxSources: 2, Frequency, now: 0, hashSeed: Seed);
        var sources = Enumerable.Range(1, 10).Select(i => SourceKey.Of(new IPEndPoint(IPAddress.Parse($"198.18.0.{i}"), 1))).ToList();

        // 10 sources with 2 requests each (under half the burst of 8): admitted, and none gets a bucket.
        Assert.All(sources.SelectMany(s => new[] { s, s }), s => Assert.Equal(RateDecision.Admitted, limiter.TryAcquire(s, 0)));
        Assert.Equal(0, limiter.TrackedSources);

        // A and B (in a later generation: the sketch starts empty) go past half their burst: tracked, and each still
        // gets exactly its burst.
        Assert.Equal(8, Enumerable.Range(0, 20).Count(_ => limiter.TryAcquire(A, 3000) == RateDecision.Admitted));
        Assert.Equal(8, Enumerable.Range(0, 20).Count(_ => limiter.TryAcquire(B, 3000) == RateDecision.Admitted));
        Assert.Equal(2, limiter.TrackedSources);

        // The table is full: further heavy sources share one overflow bucket of 8 beyond their untracked 4 each.
        var c = SourceKey.Of(new IPEndPoint(IPAddress.Parse("203.0.113.9"), 1));
        var d = SourceKey.Of(new IPEndPoint(IPAddress.Parse("203.0.113.10"), 1));
        var admitted = Enumerable.Range(0, 40).Count(i => limiter.TryAcquire(i % 2 == 0 ? c : d, 3000) == RateDecision.Admitted);
        Assert.InRange(admitted, 8, 4 + 4 + 8);
        Assert.Equal(2, limiter.TrackedSources);
    }

    [Fact]
    public void IdleSources_AreForgottenAfterTwoRefillTimes_WhenTheirBucketsAreFullAgain()
    {
        var limiter = new SourceRateLimiter(4, 4, 0, 0, 100, Frequency, now: 0);
        Assert.Equal(4, Enumerable.Range(0, 10).Count(_ => limiter.TryAcquire(A, 0) == RateDecision.Admitted));
        Assert.Equal(1, limiter.TrackedSources);

        // One refill time later A is still known (carried over when it comes back)...
        Assert.Equal(RateDecision.Admitted, limiter.TryAcquire(B, 1000));
        Assert.Equal(1, limiter.TrackedSources);

        // ...two later it is gone, and its bucket would have been full anyway.
        Assert.Equal(RateDecision.Admitted, limiter.TryAcquire(B, 2000));
        Assert.Equal(0, limiter.TrackedSources);
        Assert.Equal(4, Enumerable.Range(0, 10).Count(_ => limiter.TryAcquire(A, 2000) == RateDecision.Admitted));
    }

    [Fact]
    public void SlowRate_WithBurst_RefillsOverMinutes()
    {
        // The verification limit: 6 per minute, burst 6.
        var limiter = new SourceRateLimiter(6 / 60.0, 6, 0, 0, 100, Frequency, now: 0);

        Assert.Equal(6, Enumerable.Range(0, 20).Count(_ => limiter.TryAcquire(A, 0) == RateDecision.Admitted));
        Assert.Equal(RateDecision.SourceLimited, limiter.TryAcquire(A, 9_999));
        Assert.Equal(RateDecision.Admitted, limiter.TryAcquire(A, 10_000));
    }

    [Fact]
    public void ZeroRates_AdmitEverything()
    {
        var limiter = new SourceRateLimiter(0, 0, 0, 0, 1, Frequency, now: 0);

        Assert.True(limiter.IsUnlimited);
        Assert.All(Enumerable.Range(0, 10_000), _ => Assert.Equal(RateDecision.Admitted, limiter.TryAcquire(A, 0)));
    }
}
