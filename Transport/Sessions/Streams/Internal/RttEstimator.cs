namespace Overlay.Transport.Sessions.Streams.Internal;

/// <summary>
/// Round-trip time estimation of RFC 9002 §5: latest_rtt, min_rtt, smoothed_rtt and rttvar, in 100 ns ticks with
/// integer arithmetic. Before the first sample smoothed_rtt is the initial RTT and rttvar half of it (§5.3, §6.2.2).
/// Not thread-safe.
/// </summary>
internal sealed class RttEstimator
{
    /// <summary>kGranularity (RFC 9002 §6.1.2): timer granularity, 1 ms.</summary>
    public static readonly TimeSpan Granularity = TimeSpan.FromMilliseconds(1);

    /// <summary>Creates an estimator with no sample.</summary>
    /// <param name="initialRtt">kInitialRtt (§6.2.2, 333 ms by default): smoothed_rtt until the first sample.</param>
    public RttEstimator(TimeSpan initialRtt)
    {
        Smoothed = initialRtt;
        Variation = initialRtt / 2;
    }

    /// <summary>Gets whether a sample was taken.</summary>
    public bool HasSample { get; private set; }

    /// <summary>Gets when the first sample was taken (persistent congestion ignores packets sent before it, §7.6.2).</summary>
    public TimeSpan FirstSampleTime { get; private set; }

    /// <summary>Gets latest_rtt: the last sample, unadjusted.</summary>
    public TimeSpan Latest { get; private set; }

    /// <summary>Gets min_rtt: the smallest sample (not adjusted for ack delay), zero before the first.</summary>
    public TimeSpan Min { get; private set; }

    /// <summary>Gets smoothed_rtt.</summary>
    public TimeSpan Smoothed { get; private set; }

    /// <summary>Gets rttvar.</summary>
    public TimeSpan Variation { get; private set; }

    /// <summary>Gets the loss delay of §6.1.2: max(9/8 · max(smoothed_rtt, latest_rtt), kGranularity).</summary>
    public TimeSpan LossDelay
    {
        get
        {
            var rtt = Math.Max(Latest.Ticks, Smoothed.Ticks);
            return TimeSpan.FromTicks(Math.Max(rtt + (rtt / 8), Granularity.Ticks));
        }
    }

    /// <summary>Returns the probe timeout of §6.2.1 before backoff: smoothed_rtt + max(4 · rttvar, kGranularity) + max_ack_delay.</summary>
    /// <param name="maxAckDelay">The peer's max_ack_delay.</param>
    /// <returns>The duration.</returns>
    public TimeSpan ProbeTimeout(TimeSpan maxAckDelay) =>
        Smoothed + TimeSpan.FromTicks(Math.Max(4 * Variation.Ticks, Granularity.Ticks)) + maxAckDelay;

    /// <summary>Adds a sample (§5.3).</summary>
    /// <param name="latestRtt">now − time sent of the newly acknowledged largest packet.</param>
    /// <param name="ackDelay">The peer's reported ack delay.</param>
    /// <param name="maxAckDelay">The peer's max_ack_delay: the ack delay used is at most this.</param>
    /// <param name="now">When the ACK was processed.</param>
    public void AddSample(TimeSpan latestRtt, TimeSpan ackDelay, TimeSpan maxAckDelay, TimeSpan now)
    {
        Latest = latestRtt;
        if (!HasSample)
        {
            HasSample = true;
            FirstSampleTime = now;
            Min = latestRtt;
            Smoothed = latestRtt;
            Variation = latestRtt / 2;
            return;
        }

        if (latestRtt < Min)
        {
            Min = latestRtt;
        }

        if (ackDelay > maxAckDelay)
        {
            ackDelay = maxAckDelay;
        }

        var adjusted = latestRtt >= Min + ackDelay ? latestRtt - ackDelay : latestRtt;
        Variation = TimeSpan.FromTicks(((3 * Variation.Ticks) + Math.Abs(Smoothed.Ticks - adjusted.Ticks)) / 4);
        Smoothed = TimeSpan.FromTicks(((7 * Smoothed.Ticks) + adjusted.Ticks) / 8);
    }
}
