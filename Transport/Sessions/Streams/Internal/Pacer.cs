namespace Overlay.Transport.Sessions.Streams.Internal;

/// <summary>
/// Pacing (RFC 9002 §7.7): a token bucket refilled at N · congestion_window / smoothed_rtt with N = 1.25, holding at
/// most the bytes of a 2 ms burst at that rate, clamped to [10, 256] datagrams and never more than the window, so a
/// sender does not put a whole window on the wire at once. Before the first RTT sample nothing is paced (the initial
/// window is the only burst). The bucket shape is quinn's (quinn-proto <c>pacing.rs</c>). Nor is anything paced while
/// the smoothed RTT is below the timer granularity (1 ms, RFC 9002 §6.1.2): there the bucket holds a whole window
/// anyway, and a wake-up microseconds ahead cannot be timed; with the RTT clamped to 1 ms instead, pacing capped a
/// loopback stream at 1.25 windows per millisecond (about 20 MB/s at 1 % loss; Bench/RESULTS.md, "Sessions"). Not thread-safe.
/// </summary>
internal sealed class Pacer
{
    /// <summary>N of §7.7: the pacing rate is 1.25 times the window per round trip, so pacing alone never limits a full window.</summary>
    public const double RateFactor = 1.25;

    /// <summary>The burst the bucket holds, in time at the pacing rate: 2 ms.</summary>
    public static readonly TimeSpan BurstInterval = TimeSpan.FromMilliseconds(2);

    private const int MinBurstDatagrams = 10;
    private const int MaxBurstDatagrams = 256;

    private readonly int _datagramBytes;
    private double _tokens;
    private TimeSpan _last;

    /// <summary>Creates a full bucket.</summary>
    /// <param name="datagramBytes">max_datagram_size, bytes.</param>
    public Pacer(int datagramBytes)
    {
        _datagramBytes = datagramBytes;
        _tokens = MinBurstDatagrams * (double)datagramBytes;
    }

    /// <summary>Returns when a packet of <paramref name="bytes"/> may leave: null for now, else the earliest time.</summary>
    /// <param name="now">The current time.</param>
    /// <param name="bytes">Datagram bytes of the packet.</param>
    /// <param name="window">congestion_window, bytes.</param>
    /// <param name="smoothedRtt">smoothed_rtt; pacing is off when <paramref name="hasRtt"/> is false.</param>
    /// <param name="hasRtt">Whether an RTT sample exists.</param>
    /// <returns>Null, or the time the bucket holds enough tokens.</returns>
    public TimeSpan? NextSendTime(TimeSpan now, int bytes, long window, TimeSpan smoothedRtt, bool hasRtt)
    {
        if (!hasRtt || smoothedRtt < RttEstimator.Granularity)
        {
            _last = now;
            return null;
        }

        var rtt = smoothedRtt.Ticks;
        var rate = RateFactor * window / rtt; // bytes per tick
        var capacity = Math.Min(window, Math.Clamp(window * (double)BurstInterval.Ticks / rtt, MinBurstDatagrams * (double)_datagramBytes, MaxBurstDatagrams * (double)_datagramBytes));
        capacity = Math.Max(capacity, bytes);
        if (now > _last)
        {
            _tokens = Math.Min(capacity, _tokens + ((now - _last).Ticks * rate));
            _last = now;
        }

        if (_tokens >= bytes)
        {
            return null;
        }

        return now + TimeSpan.FromTicks((long)Math.Ceiling((bytes - _tokens) / rate));
    }

    /// <summary>Takes tokens for a packet sent.</summary>
    /// <param name="bytes">Datagram bytes.</param>
    public void OnPacketSent(int bytes) => _tokens = Math.Max(0, _tokens - bytes);
}
