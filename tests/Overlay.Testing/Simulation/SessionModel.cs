namespace Overlay.Testing.Simulation;

/// <summary>How long a node stays in the swarm before it leaves (churn), drawn per session.</summary>
public abstract class SessionModel
{
    /// <summary>Draws one session length.</summary>
    /// <param name="random">The swarm's seeded randomness.</param>
    /// <returns>A positive duration.</returns>
    public abstract TimeSpan Draw(Random random);

    /// <summary>Exponential sessions (memoryless departures) with the given median (mean = median / ln 2).</summary>
    /// <param name="median">Median session length.</param>
    public static SessionModel Exponential(TimeSpan median) => new ExponentialModel(median);

    /// <summary>
    /// Weibull sessions with shape <paramref name="shape"/> &lt; 1 (many short sessions, a long tail of long ones, as
    /// measured in deployed DHTs) and the given median.
    /// </summary>
    /// <param name="median">Median session length.</param>
    /// <param name="shape">Weibull shape k; default 0.5.</param>
    public static SessionModel Weibull(TimeSpan median, double shape = 0.5) => new WeibullModel(median, shape);

    private sealed class ExponentialModel(TimeSpan median) : SessionModel
    {
        public override TimeSpan Draw(Random random) =>
            TimeSpan.FromTicks(Math.Max(1, (long)(-Math.Log(1.0 - random.NextDouble()) * median.Ticks / Math.Log(2))));

        public override string ToString() => $"exponential, median {median}";
    }

    private sealed class WeibullModel(TimeSpan median, double shape) : SessionModel
    {
        // Median of Weibull(λ, k) is λ (ln 2)^(1/k).
        private readonly double _scale = median.Ticks / Math.Pow(Math.Log(2), 1 / shape);

        public override TimeSpan Draw(Random random) =>
            TimeSpan.FromTicks(Math.Max(1, (long)(_scale * Math.Pow(-Math.Log(1.0 - random.NextDouble()), 1 / shape))));

        public override string ToString() => $"Weibull k={shape}, median {median}";
    }
}
