using System.Net;
using Overlay.Kademlia.Internal;

namespace Overlay.Kademlia.Tests;

/// <summary>The token buckets behind the request and verification limits, stepped with explicit timestamps (1 tick = 1 ms).</summary>
public sealed class SourceRateLimiterTests
{
    private const long Frequency = 1000;
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
    public void FullTable_ForgetsOnlyRefilledSources_AndFreshSourcesShareOneBucket()
    {
        var limiter = new SourceRateLimiter(4, 4, 0, 0, maxSources: 2, Frequency, now: 0);
        var c = SourceKey.Of(new IPEndPoint(IPAddress.Parse("203.0.113.9"), 1));
        var d = SourceKey.Of(new IPEndPoint(IPAddress.Parse("203.0.113.10"), 1));
        for (var i = 0; i < 4; i++)
        {
            limiter.TryAcquire(A, 0);
            limiter.TryAcquire(B, 0);
        }

        // Table full, and A and B are still refilling: C and D share the overflow bucket of 4.
        var fresh = Enumerable.Range(0, 4).Select(i => limiter.TryAcquire(i % 2 == 0 ? c : d, 500)).ToList();
        Assert.Equal(4, fresh.Count(x => x == RateDecision.Admitted));
        Assert.Equal(RateDecision.SourceLimited, limiter.TryAcquire(c, 500));
        Assert.Equal(2, limiter.TrackedSources);

        // A second after their last request, A's and B's buckets are full again: forgetting them grants nothing.
        Assert.Equal(RateDecision.Admitted, limiter.TryAcquire(c, 1500));
        Assert.Equal(1, limiter.TrackedSources);
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
