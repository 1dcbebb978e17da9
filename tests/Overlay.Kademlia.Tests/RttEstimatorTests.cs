using Overlay.Kademlia.Internal;

namespace Overlay.Kademlia.Tests;

/// <summary>The adaptive RPC timeout (RFC 6298 §2): initial value, convergence, clamping.</summary>
public sealed class RttEstimatorTests
{
    private static readonly TimeSpan Initial = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan Min = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan Max = TimeSpan.FromSeconds(5);

    [Fact]
    public void BeforeAnySample_TimeoutIsInitial()
    {
        Assert.Equal(Initial, new RttEstimator(Initial, Min, Max).Timeout);
        Assert.Equal(TimeSpan.FromSeconds(30), new RttEstimator(TimeSpan.FromSeconds(30), Min, Max).Timeout);
    }

    [Fact]
    public void FirstSample_GivesSrttPlusTwiceTheSample()
    {
        // RFC 6298 §2.2: SRTT = R, RTTVAR = R/2, RTO = SRTT + 4·RTTVAR = 3R.
        var estimator = new RttEstimator(Initial, Min, Max);
        estimator.AddSample(TimeSpan.FromMilliseconds(200));
        Assert.Equal(TimeSpan.FromMilliseconds(600), estimator.Timeout);
    }

    [Fact]
    public void SecondSample_FollowsRfc6298Update()
    {
        // RTTVAR = 3/4·100 + 1/4·|200 − 100| = 100; SRTT = 7/8·200 + 1/8·100 = 187.5; RTO = 587.5 ms.
        var estimator = new RttEstimator(Initial, Min, Max);
        estimator.AddSample(TimeSpan.FromMilliseconds(200));
        estimator.AddSample(TimeSpan.FromMilliseconds(100));
        Assert.Equal(TimeSpan.FromMilliseconds(587.5), estimator.Timeout);
    }

    [Fact]
    public void SteadySamples_ConvergeToTheSamplePlusOneMillisecond()
    {
        var estimator = new RttEstimator(Initial, TimeSpan.FromMilliseconds(1), Max);
        var previous = TimeSpan.MaxValue;
        for (var i = 0; i < 200; i++)
        {
            estimator.AddSample(TimeSpan.FromMilliseconds(50));
            Assert.True(estimator.Timeout <= previous, $"timeout grew at sample {i}");
            previous = estimator.Timeout;
        }

        // Variance decays to zero; the RFC's clock-granularity floor G is 1 ms here.
        Assert.InRange(estimator.Timeout, TimeSpan.FromMilliseconds(50.9), TimeSpan.FromMilliseconds(51.1));
    }

    [Fact]
    public void LevelShift_IsTrackedWithinAFewDozenSamples()
    {
        var estimator = new RttEstimator(Initial, TimeSpan.FromMilliseconds(1), TimeSpan.FromSeconds(60));
        for (var i = 0; i < 100; i++)
        {
            estimator.AddSample(TimeSpan.FromMilliseconds(20));
        }

        for (var i = 0; i < 100; i++)
        {
            estimator.AddSample(TimeSpan.FromMilliseconds(300));
        }

        Assert.InRange(estimator.Timeout, TimeSpan.FromMilliseconds(300), TimeSpan.FromMilliseconds(302));
    }

    [Fact]
    public void Timeout_IsClampedToMinAndMax()
    {
        var fast = new RttEstimator(Initial, Min, Max);
        for (var i = 0; i < 50; i++)
        {
            fast.AddSample(TimeSpan.FromTicks(3));
        }

        Assert.Equal(Min, fast.Timeout);

        var slow = new RttEstimator(Initial, Min, Max);
        slow.AddSample(TimeSpan.FromSeconds(30));
        Assert.Equal(Max, slow.Timeout);
        for (var i = 0; i < 50; i++)
        {
            slow.AddSample(TimeSpan.FromSeconds(30));
        }

        Assert.Equal(Max, slow.Timeout);
    }
}
