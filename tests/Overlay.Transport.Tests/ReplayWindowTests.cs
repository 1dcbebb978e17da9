using Overlay.Transport.Sessions;

namespace Overlay.Transport.Tests;

/// <summary><see cref="ReplayWindow"/> against a reference model: every number at most once, none older than the window.</summary>
public sealed class ReplayWindowTests
{
    [Fact]
    public void InOrder_Replayed_AndReorderedInsideTheWindow()
    {
        var window = new ReplayWindow();
        Assert.True(window.TryAccept(0));
        Assert.False(window.TryAccept(0));
        Assert.True(window.TryAccept(5));
        Assert.True(window.TryAccept(3));
        Assert.False(window.TryAccept(3));
        Assert.True(window.IsFresh(4));
        Assert.Equal(5UL, window.Highest);
    }

    [Fact]
    public void FarReordered_IsRejected_AtExactlyTheWindowEdge()
    {
        var window = new ReplayWindow();
        var top = (ulong)ReplayWindow.WindowSize + 1000;
        Assert.True(window.TryAccept(top));
        Assert.True(window.IsFresh(top - ReplayWindow.WindowSize + 1));
        Assert.False(window.IsFresh(top - ReplayWindow.WindowSize));
        Assert.False(window.TryAccept(0));
        Assert.True(window.TryAccept(top - ReplayWindow.WindowSize + 1));
    }

    [Fact]
    public void AJumpOfManyWindows_ForgetsEverythingBelow_AndAcceptsFreshNumbersAboveTheNewFloor()
    {
        var window = new ReplayWindow();
        for (ulong n = 0; n < 3000; n++)
        {
            Assert.True(window.TryAccept(n));
        }

        Assert.True(window.TryAccept(1_000_000));
        for (var n = 1_000_000UL - ReplayWindow.WindowSize + 1; n < 1_000_000; n += 37)
        {
            Assert.True(window.TryAccept(n), $"{n} after a jump");
        }
    }

    [Theory]
    [InlineData(1, 64)]
    [InlineData(2, 900)]
    [InlineData(3, 2500)]
    [InlineData(4, 8000)]
    public void RandomSequences_MatchTheReferenceModel(int seed, int spread)
    {
        var random = new Random(seed);
        var window = new ReplayWindow();
        var seen = new HashSet<ulong>();
        ulong highest = 0;
        var any = false;
        ulong next = 0;
        for (var i = 0; i < 50_000; i++)
        {
            // Mostly forward with jitter; some replays and some far-back numbers.
            next += (ulong)random.Next(0, 3);
            var candidate = random.Next(10) switch
            {
                0 when seen.Count > 0 => highest - (ulong)Math.Min((long)highest, random.Next(spread)),
                1 => next + (ulong)random.Next(spread),
                _ => next,
            };
            var expected = !seen.Contains(candidate) && (!any || candidate > highest || highest - candidate < ReplayWindow.WindowSize);
            Assert.Equal(expected, window.IsFresh(candidate));
            Assert.Equal(expected, window.TryAccept(candidate));
            if (expected)
            {
                seen.Add(candidate);
                any = true;
                highest = Math.Max(highest, candidate);
            }
        }
    }
}
