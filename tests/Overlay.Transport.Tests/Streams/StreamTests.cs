using System.Security.Cryptography;
using Overlay.Testing.Streams;
using Overlay.Transport.Sessions.Streams;
using Overlay.Transport.Sessions.Streams.Internal;

namespace Overlay.Transport.Tests.Streams;

/// <summary>Stream lifecycle (RFC 9000 §2-§3): ids and their parity, limits, FIN, RESET_STREAM, STOP_SENDING, many streams at once, and the errors a bad peer earns.</summary>
public sealed class StreamTests
{
    [Fact]
    public void StreamIds_CarryTheOpenersParity_AndAreNeverReused()
    {
        var pair = new MuxPair();
        var opened = new List<(bool AtServer, long Id)>();
        pair.EventHandler = (mux, e) =>
        {
            if (e.Kind == StreamMuxEventKind.StreamOpened)
            {
                opened.Add((mux == pair.Server, e.StreamId));
            }

            EchoFinish(mux, e);
        };
        var ids = new List<long>();
        for (var i = 0; i < 3; i++)
        {
            Assert.True(pair.Client.TryOpenStream(out var id));
            pair.Client.Write(id, new byte[100]);
            pair.Client.Finish(id);
            ids.Add(id);
        }

        for (var i = 0; i < 2; i++)
        {
            Assert.True(pair.Server.TryOpenStream(out var id));
            pair.Server.Finish(id);
            ids.Add(id);
        }

        Assert.True(pair.RunUntil(() => pair.Client.GetStatistics().OpenStreams == 0 && pair.Server.GetStatistics().OpenStreams == 0, TimeSpan.FromSeconds(5)));
        Assert.Equal([0L, 2L, 4L, 1L, 3L], ids);
        Assert.Equal([(true, 0L), (true, 2L), (true, 4L), (false, 1L), (false, 3L)], opened.OrderBy(o => o.Id % 2).ThenBy(o => o.Id));
        Assert.True(pair.Client.TryOpenStream(out var next));
        Assert.Equal(6, next);
    }

    [Fact]
    public void StreamLimit_RefusesOpens_UntilThePeerRetiresStreams_AndRaisesIt()
    {
        var options = new StreamMuxOptions { MaxConcurrentStreams = StreamMuxOptions.InitialMaxStreams };
        var pair = new MuxPair(options);
        var available = 0;
        pair.EventHandler = (mux, e) =>
        {
            available += e.Kind == StreamMuxEventKind.StreamsAvailable ? 1 : 0;
            EchoFinish(mux, e);
        };
        var opened = 0;
        for (var round = 0; round < 5; round++)
        {
            while (pair.Client.TryOpenStream(out var id))
            {
                opened++;
                pair.Client.Finish(id);
            }

            Assert.Equal(16 * (round + 1), opened);
            var before = available;
            Assert.True(pair.RunUntil(() => available > before, TimeSpan.FromSeconds(5)));
        }

        Assert.Equal(80, opened);
    }

    [Fact]
    public void PeerOpeningBeyondMaxStreams_IsAStreamLimitError()
    {
        var server = new StreamMux(isClient: false, new StreamMuxOptions { MaxConcurrentStreams = 16 });
        Assert.True(server.TryReceive(RawFrames.Stream(30, 0, 1), 0, TimeSpan.Zero, out _)); // index 15: opens 0..15
        var opened = 0;
        while (server.TryDequeueEvent(out var e))
        {
            opened += e.Kind == StreamMuxEventKind.StreamOpened ? 1 : 0;
        }

        Assert.Equal(16, opened);
        Assert.False(server.TryReceive(RawFrames.Stream(32, 0, 1), 1, TimeSpan.Zero, out var error));
        Assert.Equal(StreamMuxError.StreamLimitError, error);
    }

    [Fact]
    public void FrameForAStreamThisSideNeverOpened_IsAStreamStateError()
    {
        var client = new StreamMux(isClient: true);
        Assert.False(client.TryReceive(RawFrames.Simple(FrameType.MaxStreamData, 0, 5000), 0, TimeSpan.Zero, out var error));
        Assert.Equal(StreamMuxError.StreamStateError, error);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void DataBeyondTheFinalSize_OrASecondFinalSize_IsAFinalSizeError(bool dataAfterFin)
    {
        var server = new StreamMux(isClient: false);
        Assert.True(server.TryReceive(RawFrames.Stream(0, 0, 100, fin: true), 0, TimeSpan.Zero, out _));
        var second = dataAfterFin ? RawFrames.Stream(0, 100, 1) : RawFrames.Simple(FrameType.ResetStream, 0, 1, 99);
        Assert.False(server.TryReceive(second, 1, TimeSpan.Zero, out var error));
        Assert.Equal(StreamMuxError.FinalSizeError, error);
    }

    [Fact]
    public void Fin_EndsTheStreamAfterItsData_AndWritesAfterItAreRefused()
    {
        var pair = new MuxPair();
        Assert.True(pair.Client.TryOpenStream(out var id));
        Assert.Equal(5, pair.Client.Write(id, "hello"u8).Bytes);
        Assert.True(pair.Client.Finish(id));
        Assert.False(pair.Client.Finish(id));
        Assert.Equal(StreamWriteStatus.Closed, pair.Client.Write(id, "more"u8).Status);
        pair.RunUntil(() => false, TimeSpan.FromSeconds(1));
        var buffer = new byte[100];
        Assert.Equal(new StreamReadResult(5, StreamReadStatus.Data), pair.Server.Read(id, buffer));
        Assert.Equal("hello"u8.ToArray(), buffer[..5]);
        Assert.Equal(StreamReadStatus.Finished, pair.Server.Read(id, buffer).Status);
        Assert.Equal(StreamReadStatus.Closed, pair.Server.Read(id, buffer).Status);
    }

    [Fact]
    public void Reset_ReachesTheReaderWithItsCode_AndCreditsTheDiscardedBytesBackToTheConnection()
    {
        // A 1 MiB connection window: five reset streams with 300,000 unread bytes each would exhaust it if the discarded
        // bytes were not credited back.
        var options = new StreamMuxOptions { ConnectionReceiveWindowBytes = 1 << 20 };
        var pair = new MuxPair(options);
        var resets = new List<long>();
        pair.EventHandler = (mux, e) =>
        {
            if (mux == pair.Server && e.Kind == StreamMuxEventKind.StreamReadable && mux.Read(e.StreamId, []) is { Status: StreamReadStatus.Reset } r)
            {
                resets.Add(r.ErrorCode);
                mux.ResetStream(e.StreamId, 0);
            }
        };
        for (var i = 0; i < 5; i++)
        {
            Assert.True(pair.Client.TryOpenStream(out var id));
            pair.Client.Write(id, new byte[300_000]);
            Assert.True(pair.RunUntil(() => pair.Server.GetStatistics().BytesReceived > (i + 1) * 250_000, TimeSpan.FromSeconds(5)));
            pair.Client.ResetStream(id, 40 + i);
        }

        Assert.True(pair.RunUntil(() => resets.Count == 5 && pair.Server.GetStatistics().OpenStreams == 0, TimeSpan.FromSeconds(5)));
        Assert.Equal([40L, 41L, 42L, 43L, 44L], resets);
        Assert.Equal(0, pair.Server.GetStatistics().ReceiveBufferBytes);

        var result = BulkTransfer.Run(pair, 2 << 20);
        Assert.True(result.Completed);
        Assert.Equal(result.SentSha256, result.ReceivedSha256);
    }

    [Fact]
    public void StopSending_StopsTheWriterWithTheCode_WhichResetsItsSendHalf()
    {
        var pair = new MuxPair();
        var stopped = new List<long>();
        var resetSeen = false;
        pair.EventHandler = (mux, e) =>
        {
            if (mux == pair.Client && e.Kind == StreamMuxEventKind.StreamStopped)
            {
                stopped.Add(e.ErrorCode);
            }
        };
        pair.PacketFilter = (toServer, _, payload) =>
        {
            resetSeen |= toServer && RawFrames.Types(payload.Span).Contains(FrameType.ResetStream);
            return true;
        };
        Assert.True(pair.Client.TryOpenStream(out var id));
        pair.Client.Write(id, new byte[10_000]);
        pair.RunUntil(() => false, TimeSpan.FromSeconds(1));
        pair.Server.StopSending(id, 5);
        Assert.True(pair.RunUntil(() => stopped.Count == 1 && resetSeen, TimeSpan.FromSeconds(2)));
        Assert.Equal([5L], stopped);
        Assert.Equal(new StreamWriteResult(0, StreamWriteStatus.Stopped, 5), pair.Client.Write(id, new byte[1]));
    }

    [Fact]
    public void TwoHundredStreams_AtOnePercentLossAndReordering_AllArriveIntact_AndAllAreForgotten()
    {
        var path = new LossyLinkOptions { LossRate = 0.01, ReorderRate = 0.05, Seed = 77 };
        var pair = new MuxPair(toServer: path);
        var sent = new Dictionary<long, byte[]>();
        var received = new Dictionary<long, MemoryStream>();
        var pending = new Dictionary<long, int>();
        var complete = 0;
        var random = new Random(8);

        // Until the server's first MAX_STREAMS arrives only the protocol's initial 16 may open; the rest wait for StreamsAvailable.
        void Open()
        {
            while (sent.Count < 200 && pair.Client.TryOpenStream(out var id))
            {
                var data = new byte[random.Next(1, 64 * 1024)];
                random.NextBytes(data);
                sent[id] = data;
                pending[id] = 0;
            }
        }

        void Pump()
        {
            Open();
            foreach (var (id, data) in sent)
            {
                var at = pending[id];
                if (at < 0)
                {
                    continue;
                }

                var r = pair.Client.Write(id, data.AsSpan(at));
                pending[id] = at + r.Bytes;
                if (pending[id] == data.Length && pair.Client.Finish(id))
                {
                    pending[id] = -1;
                }
            }
        }

        pair.EventHandler = (mux, e) =>
        {
            if (mux == pair.Client && e.Kind is StreamMuxEventKind.StreamWritable or StreamMuxEventKind.StreamsAvailable)
            {
                Pump();
            }
            else if (mux == pair.Server && e.Kind == StreamMuxEventKind.StreamReadable)
            {
                var sink = received.TryGetValue(e.StreamId, out var m) ? m : received[e.StreamId] = new MemoryStream();
                var buffer = new byte[16 * 1024];
                StreamReadResult r;
                while ((r = mux.Read(e.StreamId, buffer)).Status == StreamReadStatus.Data)
                {
                    sink.Write(buffer, 0, r.Bytes);
                }

                if (r.Status == StreamReadStatus.Finished)
                {
                    complete++;
                    mux.Finish(e.StreamId);
                }
            }
            else if (mux == pair.Client && e.Kind == StreamMuxEventKind.StreamReadable)
            {
                mux.Read(e.StreamId, []);
            }
        };
        Pump();
        Assert.Equal(StreamMuxOptions.InitialMaxStreams, sent.Count);
        Assert.True(pair.RunUntil(() => complete == 200 && pair.Client.GetStatistics().OpenStreams == 0 && pair.Server.GetStatistics().OpenStreams == 0, TimeSpan.FromMinutes(2)));
        foreach (var (id, data) in sent)
        {
            Assert.Equal(SHA256.HashData(data), SHA256.HashData(received[id].ToArray()));
        }

        Assert.True(pair.Client.GetStatistics().PacketsLost > 0);
        Assert.Equal(0, pair.Client.GetStatistics().SendBufferBytes);
        Assert.Equal(0, pair.Server.GetStatistics().ReceiveBufferBytes);
    }

    [Fact]
    public void SilentPeer_ClosesTheConnectionAtTheIdleTimeout()
    {
        var options = new StreamMuxOptions { IdleTimeout = TimeSpan.FromSeconds(5) };
        var pair = new MuxPair(options);
        Assert.True(pair.Client.TryOpenStream(out var id));
        pair.Client.Write(id, new byte[1000]);
        pair.RunUntil(() => false, TimeSpan.FromSeconds(1));
        var silentFrom = pair.Now;
        pair.PacketFilter = (toServer, _, _) => toServer;
        pair.Client.Write(id, new byte[1000]);
        Assert.True(pair.RunUntil(() => pair.Client.IsClosed, TimeSpan.FromMinutes(1)));
        Assert.Equal("idle timeout", pair.Client.CloseInfo!.Value.Reason);
        Assert.InRange(pair.Now - silentFrom, TimeSpan.FromSeconds(4), TimeSpan.FromSeconds(6));
        Assert.True(pair.Client.GetStatistics().ProbeTimeouts > 0);
    }

    [Fact]
    public void ApplicationClose_ReachesThePeer_WithCodeAndReason()
    {
        var pair = new MuxPair();
        pair.Client.Close(3, "going away");
        Assert.True(pair.RunUntil(() => pair.Server.IsClosed, TimeSpan.FromSeconds(1)));
        Assert.Equal(new MuxCloseInfo(3, true, "going away", ByPeer: true), pair.Server.CloseInfo);
        Assert.False(pair.Client.TryOpenStream(out _));
    }

    /// <summary>On the receiving side, reads a readable stream to its end and then finishes its own half.</summary>
    private static void EchoFinish(StreamMux mux, StreamMuxEvent e)
    {
        if (e.Kind != StreamMuxEventKind.StreamReadable)
        {
            return;
        }

        var buffer = new byte[4096];
        StreamReadResult r;
        while ((r = mux.Read(e.StreamId, buffer)).Status == StreamReadStatus.Data)
        {
        }

        if (r.Status == StreamReadStatus.Finished)
        {
            mux.Finish(e.StreamId);
        }
    }
}
