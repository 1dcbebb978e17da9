using Overlay.Testing.Streams;
using Overlay.Transport.Sessions.Streams;
using Overlay.Transport.Sessions.Streams.Internal;

namespace Overlay.Transport.Tests.Streams;

/// <summary>When ACKs are sent and what they report (RFC 9000 §13.2, §19.3), on the tracker and between two cores.</summary>
public sealed class AckTests
{
    private static readonly TimeSpan MaxAckDelay = StreamMuxOptions.MaxAckDelay;

    [Fact]
    public void OneAckElicitingPacket_IsAcknowledgedWithinMaxAckDelay_TwoAtOnce()
    {
        var tracker = new AckTracker(32, MaxAckDelay);
        tracker.OnPacketReceived(0, ackEliciting: true, Ms(100));
        Assert.False(tracker.IsAckDue(Ms(124)));
        Assert.True(tracker.IsAckDue(Ms(125)));
        Assert.Equal(Ms(125), tracker.Deadline);
        tracker.OnPacketReceived(1, ackEliciting: true, Ms(101));
        Assert.True(tracker.IsAckDue(Ms(101)));
        Assert.True(tracker.WriteAck(new byte[64], Ms(101)) > 0);
        Assert.Null(tracker.Deadline);
    }

    [Fact]
    public void OutOfOrderPacket_IsAcknowledgedAtOnce_NonElicitingNever()
    {
        var tracker = new AckTracker(32, MaxAckDelay);
        tracker.OnPacketReceived(0, ackEliciting: false, Ms(0));
        Assert.Null(tracker.Deadline);
        tracker.OnPacketReceived(2, ackEliciting: true, Ms(1));
        Assert.True(tracker.IsAckDue(Ms(1)));
    }

    [Fact]
    public void AckDelayField_IsTheTimeSinceTheLargestArrived_In8MicrosecondUnits()
    {
        var tracker = new AckTracker(32, MaxAckDelay);
        tracker.OnPacketReceived(7, ackEliciting: true, Ms(50));
        var buffer = new byte[64];
        var n = tracker.WriteAck(buffer, Ms(60));
        var reader = new FrameReader(buffer.AsSpan(0, n));
        Assert.True(reader.TryRead(out var frame, out _));
        Assert.Equal(7, frame.LargestAcknowledged);
        Assert.Equal(1250, frame.AckDelay); // 10 ms / 8 µs
    }

    [Fact]
    public void RangesBeyondTheCap_ForgetTheOldest()
    {
        var tracker = new AckTracker(4, MaxAckDelay);
        for (var pn = 0; pn <= 20; pn += 2)
        {
            tracker.OnPacketReceived(pn, ackEliciting: true, Ms(pn));
        }

        Assert.Equal(4, tracker.RangeCount);
        var buffer = new byte[64];
        var n = tracker.WriteAck(buffer, Ms(30));
        Assert.Equal([(20L, 20L), (18L, 18L), (16L, 16L), (14L, 14L)], RawFrames.AckRanges(buffer.AsSpan(0, n)));
        Assert.False(tracker.IsDuplicate(0));
        Assert.True(tracker.IsDuplicate(16));
    }

    [Fact]
    public void TheReceiversAcks_ReportExactlyWhatArrived_AndTheSenderResendsTheGap()
    {
        var pair = new MuxPair();
        var acks = new List<List<(long, long)>>();
        pair.PacketFilter = (toServer, pn, payload) =>
        {
            if (!toServer && RawFrames.AckRanges(payload.Span) is { } ranges)
            {
                acks.Add(ranges);
            }

            return !(toServer && pn == 3);
        };
        Assert.True(pair.Client.TryOpenStream(out var id));
        pair.Client.Write(id, new byte[20_000]);
        pair.Client.Finish(id);
        var read = 0L;
        var finished = false;
        pair.EventHandler = (mux, e) =>
        {
            if (mux == pair.Server && e.Kind == StreamMuxEventKind.StreamReadable)
            {
                StreamReadResult r;
                while ((r = mux.Read(e.StreamId, new byte[4096])).Status == StreamReadStatus.Data)
                {
                    read += r.Bytes;
                }

                finished |= r.Status == StreamReadStatus.Finished;
            }
        };
        Assert.True(pair.RunUntil(() => finished, TimeSpan.FromSeconds(5)));
        Assert.Equal(20_000, read);

        // Some ACK reported the hole at packet 3 (ranges above and below it), and none ever claimed packet 3.
        Assert.Contains(acks, a => a.Count >= 2 && a[^1].Item1 == 0 && a[^1].Item2 == 2 && a[^2].Item1 == 4);
        Assert.DoesNotContain(acks, a => a.Any(r => r.Item1 <= 3 && r.Item2 >= 3));
        Assert.Equal(1, pair.Client.GetStatistics().PacketsLost);
        Assert.True(pair.Client.GetStatistics().PacketsRetransmitted >= 1);
    }

    [Fact]
    public void DuplicatePacketNumbers_AreIgnored()
    {
        var server = new StreamMux(isClient: false);
        var payload = RawFrames.Stream(0, 0, 10);
        Assert.True(server.TryReceive(payload, 5, Ms(1), out _));
        Assert.True(server.TryReceive(payload, 5, Ms(2), out _));
        Assert.Equal(1, server.GetStatistics().PacketsReceived);
    }

    private static TimeSpan Ms(double ms) => TimeSpan.FromTicks((long)(ms * TimeSpan.TicksPerMillisecond));
}
