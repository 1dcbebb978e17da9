using Overlay.Testing.Streams;
using Overlay.Transport.Sessions.Streams;
using Overlay.Transport.Sessions.Streams.Internal;

namespace Overlay.Transport.Tests.Streams;

/// <summary>The reliable-path mode (TCP records, in order): the same streams and flow control, with no ACK frames, timers or congestion control.</summary>
public sealed class ReliablePathTests
{
    [Fact]
    public void Transfer_ArrivesIntact_WithNoAckFramesAndNoTimers()
    {
        var options = StreamMuxOptions.ForReliablePath();
        var path = new LossyLinkOptions { Delay = TimeSpan.FromMilliseconds(5), Seed = 3 };
        var ackFrames = 0;
        var largest = 0;
        var pair = new MuxPair(options, options, path);
        pair.PacketFilter = (_, _, payload) =>
        {
            ackFrames += RawFrames.Types(payload.Span).Count(t => t == FrameType.Ack);
            largest = Math.Max(largest, payload.Length);
            return true;
        };
        var result = BulkTransfer.Run(pair, 32 << 20);
        Assert.True(result.Completed);
        Assert.Equal(result.SentSha256, result.ReceivedSha256);
        Assert.Equal(0, ackFrames);
        Assert.Equal(StreamMuxOptions.DefaultReliablePayloadBytes, largest);
        Assert.Null(pair.Client.NextTimeout);
        Assert.Null(pair.Server.NextTimeout);
        var client = pair.Client.GetStatistics();
        Assert.Equal((0L, 0L, 0L), (client.PacketsLost, client.BytesInFlight, client.StreamBytesRetransmitted));
    }

    [Fact]
    public void ManyStreamsBothWays_AreMultiplexed()
    {
        var options = StreamMuxOptions.ForReliablePath();
        var pair = new MuxPair(options, options, new LossyLinkOptions { Delay = TimeSpan.FromMilliseconds(1) });
        var finished = 0;
        pair.EventHandler = (mux, e) =>
        {
            if (e.Kind == StreamMuxEventKind.StreamReadable)
            {
                StreamReadResult r;
                while ((r = mux.Read(e.StreamId, new byte[8192])).Status == StreamReadStatus.Data)
                {
                }

                finished += r.Status == StreamReadStatus.Finished ? 1 : 0;
            }
        };
        for (var i = 0; i < 16; i++)
        {
            Assert.True(pair.Client.TryOpenStream(out var a));
            Assert.True(pair.Server.TryOpenStream(out var b));
            Assert.Equal(100_000, pair.Client.Write(a, new byte[100_000]).Bytes);
            Assert.Equal(100_000, pair.Server.Write(b, new byte[100_000]).Bytes);
            pair.Client.Finish(a);
            pair.Server.Finish(b);
        }

        Assert.True(pair.RunUntil(() => finished == 32, TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public void AckFrame_OnTheReliablePath_IsAProtocolViolation()
    {
        var server = new StreamMux(isClient: false, StreamMuxOptions.ForReliablePath());
        Assert.False(server.TryReceive(RawFrames.Ack((0, 1)), 0, TimeSpan.Zero, out var error));
        Assert.Equal(StreamMuxError.ProtocolViolation, error);
    }
}
