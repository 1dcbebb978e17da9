using System.Security.Cryptography;
using Overlay.Testing.Streams;
using Overlay.Transport.Sessions.Streams;
using Overlay.Transport.Sessions.Streams.Internal;

namespace Overlay.Transport.Tests.Streams;

/// <summary>Stream and connection flow control (RFC 9000 §4): a reader that does not read stalls the writer at the window with memory bounded, and it resumes when reading.</summary>
public sealed class FlowControlTests
{
    private const int Page = PagedWindow.PageBytes;

    [Theory]
    [InlineData(StreamPathMode.Datagram)]
    [InlineData(StreamPathMode.Reliable)]
    public void ReaderThatDoesNotRead_StallsTheWriterAtTheWindow_WithMemoryBounded_ThenItResumes(StreamPathMode mode)
    {
        var options = Options(mode);
        var pair = new MuxPair(options);
        var data = new byte[8 << 20];
        new Random(1).NextBytes(data);
        Assert.True(pair.Client.TryOpenStream(out var id));
        var written = 0;
        var reading = false;
        var received = new MemoryStream();
        var finished = false;
        var blockedFrames = 0;
        pair.PacketFilter = (toServer, _, payload) =>
        {
            blockedFrames += toServer ? RawFrames.Values(payload.Span, FrameType.StreamDataBlocked).Count : 0;
            return true;
        };

        void Write()
        {
            while (written < data.Length)
            {
                var r = pair.Client.Write(id, data.AsSpan(written));
                written += r.Bytes;
                if (r.Status != StreamWriteStatus.Accepted)
                {
                    return;
                }
            }

            pair.Client.Finish(id);
        }

        void Read(long streamId)
        {
            var buffer = new byte[50_000];
            StreamReadResult r;
            while ((r = pair.Server.Read(streamId, buffer)).Status == StreamReadStatus.Data)
            {
                received.Write(buffer, 0, r.Bytes);
            }

            finished |= r.Status == StreamReadStatus.Finished;
        }

        long readableStream = -1;
        pair.EventHandler = (mux, e) =>
        {
            if (mux == pair.Client && e.Kind == StreamMuxEventKind.StreamWritable)
            {
                Write();
            }
            else if (mux == pair.Server && e.Kind == StreamMuxEventKind.StreamReadable)
            {
                readableStream = e.StreamId;
                if (reading)
                {
                    Read(e.StreamId);
                }
            }
        };
        Write();
        Assert.False(pair.RunUntil(() => false, TimeSpan.FromSeconds(30)));

        // Stalled: the receiver holds at most its stream window, the sender at most its send buffer, and nothing moves.
        var window = options.StreamReceiveWindowBytes;
        var server = pair.Server.GetStatistics();
        var client = pair.Client.GetStatistics();
        Assert.InRange(server.PeakReceiveBufferBytes, window / 2, window + Page);
        Assert.InRange(client.PeakSendBufferBytes, 0, options.StreamSendBufferBytes + Page);
        Assert.InRange(written, window, window + options.StreamSendBufferBytes);
        Assert.True(blockedFrames > 0, $"no STREAM_DATA_BLOCKED was sent; written {written}, client {client}");
        var packetsWhileStalled = client.PacketsSent;
        Assert.False(pair.RunUntil(() => false, TimeSpan.FromSeconds(30)));
        Assert.True(pair.Client.GetStatistics().PacketsSent - packetsWhileStalled < 10, "a stalled sender kept sending");

        reading = true;
        Read(readableStream);
        Assert.True(pair.RunUntil(() => finished, TimeSpan.FromMinutes(5)));
        Assert.Equal(SHA256.HashData(data), SHA256.HashData(received.ToArray()));
        Assert.InRange(pair.Server.GetStatistics().PeakReceiveBufferBytes, 0, window + Page);
    }

    [Fact]
    public void ConnectionWindow_BoundsAllStreamsTogether()
    {
        var options = new StreamMuxOptions { ConnectionReceiveWindowBytes = 2 << 20 };
        var pair = new MuxPair(options);
        var dataBlocked = 0;
        pair.PacketFilter = (toServer, _, payload) =>
        {
            dataBlocked += toServer ? RawFrames.Values(payload.Span, FrameType.DataBlocked).Count : 0;
            return true;
        };
        for (var i = 0; i < 8; i++)
        {
            Assert.True(pair.Client.TryOpenStream(out var id));
            Assert.Equal(StreamWriteStatus.Accepted, pair.Client.Write(id, new byte[1 << 20]).Status);
        }

        pair.RunUntil(() => false, TimeSpan.FromSeconds(20));
        Assert.InRange(pair.Server.GetStatistics().PeakReceiveBufferBytes, 1 << 20, (2 << 20) + (8 * 2 * Page));
        Assert.True(dataBlocked > 0, "no DATA_BLOCKED was sent");
    }

    [Fact]
    public void ReadingHalfTheWindow_SendsMaxStreamData()
    {
        var pair = new MuxPair();
        var updates = new List<long>();
        pair.PacketFilter = (toServer, _, payload) =>
        {
            if (!toServer)
            {
                updates.AddRange(RawFrames.Values(payload.Span, FrameType.MaxStreamData).Select(v => v.Value));
            }

            return true;
        };
        Assert.True(pair.Client.TryOpenStream(out var id));
        pair.Client.Write(id, new byte[700_000]);
        pair.RunUntil(() => false, TimeSpan.FromSeconds(2));

        // The first MAX_STREAM_DATA raises the initial 256 KiB to the 1 MiB window; reading 600,000 bytes (over half) raises it again.
        Assert.Equal([1L << 20], updates);
        Assert.Equal(600_000, pair.Server.Read(id, new byte[600_000]).Bytes);
        pair.RunUntil(() => false, TimeSpan.FromSeconds(2));
        Assert.Equal([1L << 20, 600_000 + (1L << 20)], updates);
    }

    [Fact]
    public void PeerSendingBeyondTheStreamWindow_IsAFlowControlError()
    {
        // A core enforces the window it is about to announce (1 MiB), not only the protocol's initial 256 KiB.
        var server = new StreamMux(isClient: false);
        Assert.True(server.TryReceive(RawFrames.Stream(0, 0, 1000), 0, TimeSpan.Zero, out _));
        Assert.True(server.TryReceive(RawFrames.Stream(0, StreamMuxOptions.DefaultStreamReceiveWindowBytes - 1, 1), 1, TimeSpan.Zero, out _));
        Assert.False(server.TryReceive(RawFrames.Stream(0, StreamMuxOptions.DefaultStreamReceiveWindowBytes - 1, 2), 2, TimeSpan.Zero, out var error));
        Assert.Equal(StreamMuxError.FlowControlError, error);
        Assert.Equal("stream data beyond MAX_STREAM_DATA", server.CloseInfo!.Value.Reason);
        var close = new byte[1300];
        var n = server.PollTransmit(close, TimeSpan.Zero, out _);
        Assert.Contains(FrameType.ConnectionClose, RawFrames.Types(close.AsSpan(0, n)));
    }

    [Fact]
    public void PeerSendingBeyondTheConnectionWindow_IsAFlowControlError()
    {
        var server = new StreamMux(isClient: false, new StreamMuxOptions { ConnectionReceiveWindowBytes = StreamMuxOptions.InitialConnectionWindowBytes });
        var chunk = StreamMuxOptions.InitialStreamWindowBytes;
        for (var i = 0; i < 4; i++)
        {
            Assert.True(server.TryReceive(RawFrames.Stream(2 * i, chunk - 1, 1), i, TimeSpan.Zero, out _));
        }

        Assert.False(server.TryReceive(RawFrames.Stream(8, 0, 1), 4, TimeSpan.Zero, out var error));
        Assert.Equal(StreamMuxError.FlowControlError, error);
    }

    [Fact]
    public void ScatteredData_BeyondTheReassemblyRangeCap_IsLeftUnacknowledged_NotStored()
    {
        var server = new StreamMux(isClient: false, new StreamMuxOptions { MaxReassemblyRanges = 4 });
        for (var i = 0; i < 5; i++)
        {
            Assert.True(server.TryReceive(RawFrames.Stream(0, 10 * (i + 1), 1), i, TimeSpan.Zero, out _));
        }

        // Four 1-byte holes are held; the fifth packet would make a fifth range: not stored, not acknowledged.
        var stats = server.GetStatistics();
        Assert.Equal((1L, (long)PagedWindow.PageBytes), (stats.PacketsRefused, stats.ReceiveBufferBytes));
        var ack = new byte[1300];
        var n = server.PollTransmit(ack, TimeSpan.FromMilliseconds(30), out _);
        Assert.Equal([(0L, 3L)], RawFrames.AckRanges(ack.AsSpan(0, n)));

        // On the reliable path nothing would resend it, and an honest peer never leaves holes: a protocol violation.
        var options = StreamMuxOptions.ForReliablePath();
        options.MaxReassemblyRanges = 1;
        var reliable = new StreamMux(isClient: false, options);
        Assert.True(reliable.TryReceive(RawFrames.Stream(0, 10, 1), 0, TimeSpan.Zero, out _));
        Assert.False(reliable.TryReceive(RawFrames.Stream(0, 20, 1), 1, TimeSpan.Zero, out var error));
        Assert.Equal(StreamMuxError.ProtocolViolation, error);
    }

    private static StreamMuxOptions Options(StreamPathMode mode) =>
        mode == StreamPathMode.Reliable ? StreamMuxOptions.ForReliablePath() : new StreamMuxOptions();
}
