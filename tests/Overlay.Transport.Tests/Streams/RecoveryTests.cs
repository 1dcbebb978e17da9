using Overlay.Transport.Sessions.Streams;
using Overlay.Transport.Sessions.Streams.Internal;

namespace Overlay.Transport.Tests.Streams;

/// <summary>
/// RFC 9002 pieces on their own with explicit times: the RTT estimator against §5's formulas, loss detection by packet
/// and time threshold (§6.1), the probe timeout and its backoff (§6.2), persistent congestion (§7.6), NewReno (§7),
/// pacing (§7.7).
/// </summary>
public sealed class RecoveryTests
{
    private const int Datagram = 1232;
    private static readonly TimeSpan MaxAckDelay = StreamMuxOptions.MaxAckDelay;

    [Fact]
    public void RttEstimator_FollowsRfc9002Section5_3()
    {
        var rtt = new RttEstimator(TimeSpan.FromMilliseconds(333));
        Assert.Equal(TimeSpan.FromMilliseconds(333), rtt.Smoothed);
        Assert.Equal(TimeSpan.FromMilliseconds(166.5), rtt.Variation);

        rtt.AddSample(Ms(100), Ms(0), MaxAckDelay, Ms(1000));
        Assert.Equal((Ms(100), Ms(50), Ms(100)), (rtt.Smoothed, rtt.Variation, rtt.Min));

        // ack_delay subtracted (latest ≥ min + ack_delay): adjusted 110.
        rtt.AddSample(Ms(120), Ms(10), MaxAckDelay, Ms(1100));
        Assert.Equal((Ms(101.25), Ms(40), Ms(100)), (rtt.Smoothed, rtt.Variation, rtt.Min));

        // Not subtracted when it would go below min_rtt: adjusted = latest = 105.
        rtt.AddSample(Ms(105), Ms(10), MaxAckDelay, Ms(1200));
        Assert.Equal(Ms(30.9375), rtt.Variation);
        Assert.Equal(1_017_187, rtt.Smoothed.Ticks); // 101.71875 ms, truncated to a 100 ns tick

        // ack_delay is capped at max_ack_delay; min_rtt is never adjusted.
        rtt.AddSample(Ms(90), Ms(50), MaxAckDelay, Ms(1300));
        Assert.Equal(Ms(90), rtt.Min);
        Assert.InRange(rtt.Smoothed.Ticks, Ms(100.25390625).Ticks - 2, Ms(100.25390625).Ticks + 2);
        Assert.Equal(Ms(90), rtt.Latest);
    }

    [Fact]
    public void RttEstimator_TracksADoublePrecisionReference_OverRandomSamples()
    {
        var random = new Random(4);
        var rtt = new RttEstimator(Ms(333));
        double srtt = 0, rttvar = 0, min = 0;
        for (var i = 0; i < 10_000; i++)
        {
            var latest = Ms(20 + (random.NextDouble() * 80));
            var ackDelay = Ms(random.NextDouble() * 40);
            rtt.AddSample(latest, ackDelay, MaxAckDelay, Ms(i));
            double l = latest.Ticks, d = Math.Min(ackDelay.Ticks, MaxAckDelay.Ticks);
            if (i == 0)
            {
                (srtt, rttvar, min) = (l, l / 2, l);
                continue;
            }

            min = Math.Min(min, l);
            var adjusted = l >= min + d ? l - d : l;
            rttvar = (0.75 * rttvar) + (0.25 * Math.Abs(srtt - adjusted));
            srtt = (0.875 * srtt) + (0.125 * adjusted);
            Assert.InRange(rtt.Smoothed.Ticks, srtt - 10, srtt + 10);
            Assert.InRange(rtt.Variation.Ticks, rttvar - 10, rttvar + 10);
        }

        Assert.Equal(min, rtt.Min.Ticks);
        Assert.Equal(rtt.Smoothed + TimeSpan.FromTicks(Math.Max(4 * rtt.Variation.Ticks, TimeSpan.TicksPerMillisecond)) + MaxAckDelay, rtt.ProbeTimeout(MaxAckDelay));
    }

    [Fact]
    public void Acknowledgement_GivesAnRttSample_OnlyWhenItsLargestIsNewlyAcknowledged()
    {
        var (recovery, sink) = NewRecovery();
        Send(recovery, Ms(0));
        Ack(recovery, sink, Ms(100), (0, 1));
        Assert.Equal(Ms(100), recovery.Rtt.Smoothed);
        Send(recovery, Ms(100));
        Send(recovery, Ms(110));
        Ack(recovery, sink, Ms(250), delayUnits: 1250, (1, 3)); // 10 ms of ack delay
        Assert.Equal(Ms(140), recovery.Rtt.Latest);
        Assert.Equal(Ms(103.75), recovery.Rtt.Smoothed); // 7/8 · 100 + 1/8 · 130 (140 less 10 ms of ack delay)
        Ack(recovery, sink, Ms(900), (0, 3));
        Assert.Equal(Ms(140), recovery.Rtt.Latest);
        Assert.Equal("ACK of a packet number not sent", Apply(recovery, sink, Ms(901), RawFrames.Ack((3, 4))));
    }

    [Fact]
    public void PacketThreshold_ThenTimeThreshold_DeclareLosses()
    {
        var (recovery, sink) = NewRecovery();
        for (var i = 0; i < 6; i++)
        {
            Send(recovery, Ms(i));
        }

        Ack(recovery, sink, Ms(100), (0, 1));
        Assert.Empty(sink.Lost);
        Ack(recovery, sink, Ms(110), (4, 5));

        // Packet 1 is 3 below the largest acknowledged (4): lost at once. 2 and 3 wait for 9/8 of the RTT.
        Assert.Equal([1L], sink.Lost);
        var lossDelay = recovery.Rtt.LossDelay;
        Assert.Equal(TimeSpan.FromTicks(Math.Max(recovery.Rtt.Latest.Ticks, recovery.Rtt.Smoothed.Ticks) * 9 / 8), lossDelay);
        Assert.Equal(Ms(2) + lossDelay, recovery.TimerDeadline);
        recovery.OnTimeout(Ms(2) + lossDelay, sink);
        Assert.Equal([1L, 2L], sink.Lost);
        Assert.Equal(Ms(3) + lossDelay, recovery.TimerDeadline);
        recovery.OnTimeout(Ms(3) + lossDelay, sink);
        Assert.Equal([1L, 2L, 3L], sink.Lost);
        Assert.Equal(3, recovery.PacketsLost);
        Assert.Equal(1, recovery.Congestion.CongestionEvents);
    }

    [Fact]
    public void ProbeTimeout_BacksOffExponentially_AndResetsOnAnAcknowledgement()
    {
        var (recovery, sink) = NewRecovery();
        Send(recovery, Ms(0));

        // No RTT sample: PTO = 333 + 4 · 166.5 + 25 = 1024 ms.
        Assert.Equal(Ms(1024), recovery.TimerDeadline);
        recovery.OnTimeout(Ms(1024), sink);
        Assert.Equal((1, 2), (recovery.PtoCount, recovery.ProbesPending));
        Assert.Empty(sink.Lost);
        Send(recovery, Ms(1024));
        Send(recovery, Ms(1024));
        Assert.Equal(0, recovery.ProbesPending);
        Assert.Equal(Ms(1024 + 2048), recovery.TimerDeadline);
        recovery.OnTimeout(Ms(3072), sink);
        Assert.Equal(2, recovery.PtoCount);
        Assert.Equal(Ms(1024 + 4096), recovery.TimerDeadline);
        Ack(recovery, sink, Ms(3100), (2, 3));
        Assert.Equal(0, recovery.PtoCount);
        Assert.Equal(2, recovery.ProbeTimeouts);
    }

    [Fact]
    public void LossesSpanningThreeProbeTimeouts_ArePersistentCongestion_AndCollapseTheWindow()
    {
        var (recovery, sink) = NewRecovery();
        Send(recovery, Ms(0));
        Ack(recovery, sink, Ms(100), (0, 1));
        foreach (var t in new[] { 200, 700, 1300, 1400 })
        {
            Send(recovery, Ms(t));
        }

        // Acknowledging packet 4 (RTT 100 ms) leaves 1..3 lost; they span 1.1 s > 3 · PTO (3 · 275 ms).
        Ack(recovery, sink, Ms(1500), (4, 5));
        Assert.Equal([1L, 2L, 3L], sink.Lost);
        Assert.True(recovery.PersistentCongestionDuration < Ms(1100));
        Assert.Equal(1, recovery.Congestion.PersistentCongestionEvents);

        // kMinimumWindow (2 datagrams), then packet 4's acknowledgement counts in slow start, as Appendix B orders it
        // (OnPacketsLost resets congestion_recovery_start_time before OnPacketsAcked).
        Assert.Equal(3L * Datagram, recovery.Congestion.Window);
    }

    [Fact]
    public void ShortLossBurst_IsNotPersistentCongestion()
    {
        var (recovery, sink) = NewRecovery();
        Send(recovery, Ms(0));
        Ack(recovery, sink, Ms(100), (0, 1));
        foreach (var t in new[] { 200, 210, 220, 230, 240 })
        {
            Send(recovery, Ms(t));
        }

        // Acknowledging packet 5 at 340 ms (RTT 100 ms) loses 1..3 (sent before 340 − 9/8 · 100 ms), 20 ms apart in all.
        var before = recovery.Congestion.Window;
        Ack(recovery, sink, Ms(340), (5, 6));
        Assert.Equal([1L, 2L, 3L], sink.Lost);
        Assert.Equal(0, recovery.Congestion.PersistentCongestionEvents);
        Assert.Equal(before / 2, recovery.Congestion.Window);
    }

    [Fact]
    public void NewReno_SlowStart_Recovery_CongestionAvoidance_AndApplicationLimits()
    {
        var cc = new NewRenoController(Datagram);
        Assert.Equal(10 * Datagram, cc.Window); // min(10 · 1232, max(14720, 2 · 1232))
        Assert.True(cc.InSlowStart);
        for (var i = 0; i < 10; i++)
        {
            cc.OnPacketSent(Datagram);
        }

        Assert.False(cc.CanSend(Datagram));
        for (var i = 0; i < 10; i++)
        {
            cc.OnPacketAcked(Datagram, Ms(i));
        }

        Assert.Equal(20 * Datagram, cc.Window); // slow start: +1 datagram per datagram acknowledged

        cc.OnCongestionEvent(Ms(50), Ms(100));
        Assert.Equal((10L * Datagram, 10L * Datagram), (cc.Window, cc.SlowStartThreshold));
        cc.OnCongestionEvent(Ms(90), Ms(110)); // sent before the recovery period began: no second reduction
        Assert.Equal(10 * Datagram, cc.Window);
        cc.OnPacketAcked(Datagram, Ms(99)); // sent before recovery: no growth
        Assert.Equal(10 * Datagram, cc.Window);

        // Congestion avoidance: one datagram per window of acknowledged bytes.
        for (var i = 0; i < 9; i++)
        {
            cc.OnPacketAcked(Datagram, Ms(200));
        }

        Assert.Equal(10 * Datagram, cc.Window);
        cc.OnPacketAcked(Datagram, Ms(200));
        Assert.Equal(11 * Datagram, cc.Window);

        cc.ApplicationLimited = true;
        for (var i = 0; i < 50; i++)
        {
            cc.OnPacketAcked(Datagram, Ms(300));
        }

        Assert.Equal(11 * Datagram, cc.Window);
        cc.OnCongestionEvent(Ms(300), Ms(400));
        Assert.Equal(11 * Datagram / 2, cc.Window);
        cc.OnPersistentCongestion();
        Assert.Equal(2 * Datagram, cc.Window);
    }

    [Fact]
    public void Pacer_SpreadsAWindowOverTheRoundTrip_WithBurstsOfAtMostTenDatagrams()
    {
        var pacer = new Pacer(Datagram);
        const long window = 100 * Datagram;
        var srtt = Ms(100);
        var now = TimeSpan.Zero;
        long sent = 0;
        var burst = 0;
        var maxBurst = 0;
        var last = TimeSpan.MinValue;
        while (now < Ms(1000))
        {
            if (pacer.NextSendTime(now, Datagram, window, srtt, hasRtt: true) is { } next)
            {
                Assert.True(next > now);
                now = next;
                continue;
            }

            pacer.OnPacketSent(Datagram);
            sent += Datagram;
            burst = now == last ? burst + 1 : 1;
            maxBurst = Math.Max(maxBurst, burst);
            last = now;
        }

        // 1.25 windows per RTT, plus the initial bucket of 10 datagrams.
        var expected = (1.25 * window * 10) + (10 * Datagram);
        Assert.InRange(sent, expected * 0.97, expected + Datagram);
        Assert.Equal(10, maxBurst);
        Assert.Null(new Pacer(Datagram).NextSendTime(now, Datagram, window, srtt, hasRtt: false));
    }

    [Fact]
    public void Pacer_PacesNothing_WhileTheRoundTripIsBelowTheTimerGranularity()
    {
        const long window = 100 * Datagram;
        var now = Ms(5);

        // At 0.5 ms no wake-up could be timed: every datagram of two windows may leave at once (the window limits them).
        var fast = new Pacer(Datagram);
        for (var i = 0; i < 200; i++)
        {
            Assert.Null(fast.NextSendTime(now, Datagram, window, Ms(0.5), hasRtt: true));
            fast.OnPacketSent(Datagram);
        }

        // At 1 ms the bucket holds one window; the next datagram waits for tokens.
        var paced = new Pacer(Datagram);
        var sent = 0;
        while (paced.NextSendTime(now, Datagram, window, Ms(1), hasRtt: true) is null && sent < 200)
        {
            paced.OnPacketSent(Datagram);
            sent++;
        }

        Assert.InRange(sent, 10, 100);
        Assert.True(paced.NextSendTime(now, Datagram, window, Ms(1), hasRtt: true) > now);
    }

    private static TimeSpan Ms(double ms) => TimeSpan.FromTicks((long)Math.Round(ms * TimeSpan.TicksPerMillisecond));

    private static (LossRecovery, RecordingSink) NewRecovery() => (new LossRecovery(Ms(333), MaxAckDelay, Datagram), new RecordingSink());

    /// <summary>Sends an ack-eliciting packet carrying one STREAM frame whose offset is its packet number.</summary>
    private static void Send(LossRecovery recovery, TimeSpan now)
    {
        var cursor = recovery.Log.FrameCursor;
        recovery.Log.AddFrame(new SentFrame(SentFrameKind.Stream, 0, recovery.Log.NextPacketNumber, 1, false));
        recovery.OnPacketSent(now, Datagram, ackEliciting: true, cursor);
    }

    private static void Ack(LossRecovery recovery, RecordingSink sink, TimeSpan now, params (long Start, long End)[] ranges) =>
        Ack(recovery, sink, now, 0, ranges);

    private static void Ack(LossRecovery recovery, RecordingSink sink, TimeSpan now, long delayUnits, params (long Start, long End)[] ranges)
    {
        var set = new RangeSet();
        foreach (var (start, end) in ranges)
        {
            set.TryAdd(start, end);
        }

        var buffer = new byte[256];
        var n = FrameWriter.WriteAck(buffer, set, delayUnits, 64);
        Assert.Null(Apply(recovery, sink, now, buffer[..n]));
    }

    private static string? Apply(LossRecovery recovery, RecordingSink sink, TimeSpan now, byte[] payload)
    {
        var reader = new FrameReader(payload);
        Assert.True(reader.TryRead(out var frame, out _));
        return recovery.OnAckReceived(in frame, now, sink);
    }

    private sealed class RecordingSink : ISentFrameSink
    {
        public List<long> Acked { get; } = [];

        public List<long> Lost { get; } = [];

        public void OnFrameAcked(in SentFrame frame) => Acked.Add(frame.Offset);

        public void OnFrameLost(in SentFrame frame) => Lost.Add(frame.Offset);
    }
}
