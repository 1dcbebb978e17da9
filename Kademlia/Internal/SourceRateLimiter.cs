namespace Overlay.Kademlia.Internal;

/// <summary>
/// Token buckets per source (<see cref="SourceKey"/>) and one for all sources together: a request is admitted when
/// both its source's bucket and the global bucket hold a token. A bucket refills at its rate and holds at most its
/// burst, so a source may burst and then sustains its rate. OpenDHT limits a node's answers the same way
/// (1,024 requests/s per IP, 8,192/s in all, <c>src/network_engine.cpp</c>). Sans-IO: the caller passes monotonic
/// timestamps (<see cref="TimeProvider.GetTimestamp"/> ticks). Thread-safe (one short lock).
/// </summary>
/// <remarks>
/// At most <c>maxSources</c> sources are tracked; a spoofer cycling source addresses would otherwise grow the table
/// without bound. When it is full, sources idle long enough for their bucket to refill completely are forgotten (at
/// most one sweep per second); if it is still full, untracked sources share one overflow bucket with the per-source rate, so
/// a flood from fresh addresses is still capped while known sources keep their own allowance.
/// </remarks>
internal sealed class SourceRateLimiter
{
    private readonly object _gate = new();
    private readonly Dictionary<SourceKey, Bucket> _sources = [];
    private readonly double _perSourceRate;
    private readonly double _perSourceBurst;
    private readonly double _globalRate;
    private readonly double _globalBurst;
    private readonly long _refillTicks;
    private readonly int _maxSources;
    private readonly long _frequency;
    private Bucket _global;
    private Bucket _overflow;
    private long _lastSweep;

    /// <summary>Creates a limiter; every bucket starts full.</summary>
    /// <param name="perSourceRate">Tokens per second per source; 0 = no per-source limit.</param>
    /// <param name="perSourceBurst">Most tokens a source's bucket holds, at least 1 when <paramref name="perSourceRate"/> is set.</param>
    /// <param name="globalRate">Tokens per second for all sources together; 0 = no global limit.</param>
    /// <param name="globalBurst">Most tokens the global bucket holds, at least 1 when <paramref name="globalRate"/> is set.</param>
    /// <param name="maxSources">Most sources tracked at once, at least 1.</param>
    /// <param name="timestampFrequency">Ticks per second of the timestamps passed in (<see cref="TimeProvider.TimestampFrequency"/>).</param>
    /// <param name="now">The current timestamp.</param>
    /// <exception cref="ArgumentOutOfRangeException">A rate is negative, a burst is below 1 for a set rate, <paramref name="maxSources"/> is below 1 or <paramref name="timestampFrequency"/> is not positive.</exception>
    public SourceRateLimiter(double perSourceRate, double perSourceBurst, double globalRate, double globalBurst, int maxSources, long timestampFrequency, long now)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(perSourceRate);
        ArgumentOutOfRangeException.ThrowIfNegative(globalRate);
        ArgumentOutOfRangeException.ThrowIfLessThan(perSourceBurst, perSourceRate > 0 ? 1 : 0);
        ArgumentOutOfRangeException.ThrowIfLessThan(globalBurst, globalRate > 0 ? 1 : 0);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxSources, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(timestampFrequency, 1);
        _perSourceRate = perSourceRate;
        _perSourceBurst = perSourceBurst;
        _globalRate = globalRate;
        _globalBurst = globalBurst;
        _maxSources = maxSources;
        _frequency = timestampFrequency;
        _refillTicks = perSourceRate > 0 ? (long)Math.Ceiling(perSourceBurst / perSourceRate * timestampFrequency) : 0;
        _global = new Bucket(globalBurst, now);
        _overflow = new Bucket(perSourceBurst, now);
        _lastSweep = now;
    }

    /// <summary>Gets whether this limiter admits everything (both rates 0).</summary>
    public bool IsUnlimited => _perSourceRate == 0 && _globalRate == 0;

    /// <summary>Gets the number of sources tracked now.</summary>
    public int TrackedSources
    {
        get
        {
            lock (_gate)
            {
                return _sources.Count;
            }
        }
    }

    /// <summary>Takes one token for <paramref name="source"/> if its bucket and the global bucket both have one.</summary>
    /// <param name="source">The request's source.</param>
    /// <param name="now">The current timestamp.</param>
    /// <returns><see cref="RateDecision.Admitted"/>, or which limit refused it.</returns>
    public RateDecision TryAcquire(SourceKey source, long now)
    {
        if (IsUnlimited)
        {
            return RateDecision.Admitted;
        }

        lock (_gate)
        {
            if (_perSourceRate > 0)
            {
                if (!_sources.TryGetValue(source, out var bucket))
                {
                    if (_sources.Count >= _maxSources)
                    {
                        Sweep(now);
                    }

                    if (_sources.Count >= _maxSources)
                    {
                        return Take(ref _overflow, now) ? TakeGlobal(now) : RateDecision.SourceLimited;
                    }

                    bucket = new Bucket(_perSourceBurst, now);
                }

                var admitted = bucket.TryTake(_perSourceRate, _perSourceBurst, now, _frequency);
                _sources[source] = bucket;
                if (!admitted)
                {
                    return RateDecision.SourceLimited;
                }
            }

            return TakeGlobal(now);
        }
    }

    private RateDecision TakeGlobal(long now)
    {
        if (_globalRate > 0 && !_global.TryTake(_globalRate, _globalBurst, now, _frequency))
        {
            return RateDecision.GlobalLimited;
        }

        return RateDecision.Admitted;
    }

    private bool Take(ref Bucket bucket, long now) => bucket.TryTake(_perSourceRate, _perSourceBurst, now, _frequency);

    /// <summary>Forgets sources idle long enough for their bucket to be full again (so forgetting grants nothing); at most once per second.</summary>
    private void Sweep(long now)
    {
        if (now - _lastSweep < _frequency)
        {
            return;
        }

        _lastSweep = now;
        List<SourceKey>? idle = null;
        foreach (var (key, bucket) in _sources)
        {
            if (now - bucket.Last >= _refillTicks)
            {
                (idle ??= []).Add(key);
            }
        }

        foreach (var key in idle ?? [])
        {
            _sources.Remove(key);
        }
    }

    /// <summary>A token bucket: <see cref="Tokens"/> refill at the rate per second up to the burst, from <see cref="Last"/>.</summary>
    private struct Bucket(double burst, long now)
    {
        public double Tokens = burst;

        public long Last = now;

        public bool TryTake(double rate, double burst, long now, long frequency)
        {
            if (now > Last)
            {
                Tokens = Math.Min(burst, Tokens + (rate * (now - Last) / frequency));
                Last = now;
            }

            if (Tokens < 1)
            {
                return false;
            }

            Tokens -= 1;
            return true;
        }
    }
}
