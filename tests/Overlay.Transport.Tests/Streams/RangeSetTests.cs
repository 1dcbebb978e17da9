using Overlay.Transport.Sessions.Streams.Internal;

namespace Overlay.Transport.Tests.Streams;

/// <summary><see cref="RangeSet"/> against a brute-force set of integers, over seeded random operations.</summary>
public sealed class RangeSetTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void RandomAddsAndRemoves_MatchABruteForceSet(int seed)
    {
        var random = new Random(seed);
        var set = new RangeSet();
        var truth = new SortedSet<long>();
        for (var step = 0; step < 5_000; step++)
        {
            long start = random.Next(0, 300);
            var end = start + random.Next(0, 20);
            switch (random.Next(4))
            {
                case 0:
                    set.Remove(start, end);
                    truth.RemoveWhere(v => v >= start && v < end);
                    break;
                case 1:
                    set.RemoveBelow(start);
                    truth.RemoveWhere(v => v < start);
                    break;
                default:
                    Assert.True(set.TryAdd(start, end));
                    for (var v = start; v < end; v++)
                    {
                        truth.Add(v);
                    }

                    break;
            }

            Assert.Equal(Ranges(truth), Ranges(set));
            var probe = random.Next(0, 330);
            Assert.Equal(truth.Contains(probe), set.Contains(probe));
        }
    }

    [Fact]
    public void TryAdd_RefusesANewRangePastTheCap_ButStillMerges()
    {
        var set = new RangeSet();
        Assert.True(set.TryAdd(0, 10, maxRanges: 2));
        Assert.True(set.TryAdd(20, 30, maxRanges: 2));
        Assert.False(set.TryAdd(40, 50, maxRanges: 2));
        Assert.False(set.TryAdd(12, 15, maxRanges: 2));
        Assert.True(set.TryAdd(10, 20, maxRanges: 2));
        Assert.Equal([(0L, 30L)], Ranges(set));
        Assert.True(set.TryAdd(40, 50, maxRanges: 2));
    }

    private static List<(long, long)> Ranges(RangeSet set) => Enumerable.Range(0, set.Count).Select(i => set[i]).ToList();

    private static List<(long, long)> Ranges(SortedSet<long> values)
    {
        var result = new List<(long, long)>();
        foreach (var v in values)
        {
            if (result.Count > 0 && result[^1].Item2 == v)
            {
                result[^1] = (result[^1].Item1, v + 1);
            }
            else
            {
                result.Add((v, v + 1));
            }
        }

        return result;
    }
}
