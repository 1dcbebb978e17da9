namespace Overlay.Testing.Simulation;

/// <summary>
/// Link latency of the in-memory network. Each node draws an access delay when it attaches; a datagram between two
/// nodes takes the sum of both access delays (one way). This keeps memory linear in the number of nodes while giving
/// every link its own stable latency, as in coordinate-free wide-area models.
/// </summary>
public abstract class LatencyModel
{
    /// <summary>Draws the one-way access delay of a new node.</summary>
    /// <param name="random">The network's seeded randomness.</param>
    /// <returns>A non-negative delay.</returns>
    public abstract TimeSpan DrawAccessDelay(Random random);

    /// <summary>Returns a model whose one-way link latency is uniform in [<paramref name="min"/>, <paramref name="max"/>] (sum of two uniform halves).</summary>
    /// <param name="min">Smallest one-way latency.</param>
    /// <param name="max">Largest one-way latency.</param>
    public static LatencyModel Uniform(TimeSpan min, TimeSpan max) => new UniformModel(min, max);

    /// <summary>
    /// Returns a long-tailed model resembling wide-area round-trip times: access delay log-normal with median
    /// <paramref name="medianRoundTrip"/>/4 (so the median link RTT is near <paramref name="medianRoundTrip"/>) and
    /// shape <paramref name="sigma"/>, capped at 2 s.
    /// </summary>
    /// <param name="medianRoundTrip">Median RTT of a link; default 80 ms.</param>
    /// <param name="sigma">Log-normal shape; default 0.6 (p99 link RTT about 3x the median).</param>
    public static LatencyModel WideArea(TimeSpan? medianRoundTrip = null, double sigma = 0.6) =>
        new LogNormalModel((medianRoundTrip ?? TimeSpan.FromMilliseconds(80)) / 4, sigma);

    private sealed class UniformModel(TimeSpan min, TimeSpan max) : LatencyModel
    {
        public override TimeSpan DrawAccessDelay(Random random) =>
            TimeSpan.FromTicks((long)((min.Ticks / 2.0) + (random.NextDouble() * (max.Ticks - min.Ticks) / 2.0)));

        public override string ToString() => $"uniform {min.TotalMilliseconds}-{max.TotalMilliseconds} ms one way";
    }

    private sealed class LogNormalModel(TimeSpan median, double sigma) : LatencyModel
    {
        private static readonly TimeSpan Cap = TimeSpan.FromSeconds(1);

        public override TimeSpan DrawAccessDelay(Random random)
        {
            // Box-Muller: a standard normal from two uniforms.
            var u1 = 1.0 - random.NextDouble();
            var u2 = random.NextDouble();
            var z = Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
            var ticks = median.Ticks * Math.Exp(sigma * z);
            return TimeSpan.FromTicks((long)Math.Min(ticks, Cap.Ticks));
        }

        public override string ToString() => $"wide-area log-normal, median link RTT {median.TotalMilliseconds * 4} ms, sigma {sigma}";
    }
}
