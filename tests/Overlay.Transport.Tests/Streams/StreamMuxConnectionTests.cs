using System.Security.Cryptography;
using Overlay.Testing.Simulation;
using Overlay.Testing.Streams;
using Overlay.Transport.Sessions.Streams;

namespace Overlay.Transport.Tests.Streams;

/// <summary>
/// The async wrapper (<see cref="StreamMuxConnection"/>, <see cref="MuxStream"/>) on an in-memory lossy link, run by the
/// discrete-event <see cref="Simulator"/>: virtual time, one thread, the same order every run.
/// </summary>
public sealed class StreamMuxConnectionTests
{
    private static readonly LossyLinkOptions Lossy = new() { Delay = TimeSpan.FromMilliseconds(15), LossRate = 0.01, ReorderRate = 0.05, DuplicateRate = 0.01, Seed = 5 };

    [Fact]
    public void OpenAcceptWriteRead_CarriesEightMebibytesIntact_AndReadReturnsZeroAtTheEnd()
    {
        var simulator = new Simulator();
        simulator.Run(async () =>
        {
            await using var c = Connect(simulator, Lossy);
            var data = RandomBytes(8 << 20, 1);
            var stream = await c.Client.OpenStreamAsync();
            var writing = WriteAllAsync(stream, data, 100_000);
            var accepted = await c.Server.AcceptStreamAsync();
            var received = await ReadAllAsync(accepted);
            await writing;
            Assert.Equal(SHA256.HashData(data), SHA256.HashData(received));
            Assert.Equal(0, await accepted.ReadAsync(new byte[10]));
            Assert.True(c.Client.Statistics.PacketsLost > 0);
        });
        Assert.Equal(0, simulator.OffThreadCalls);
    }

    [Fact]
    public async Task OnTheSystemClockAndThreadPool_FourMebibytesEachWayArriveIntact()
    {
        // Real threads and timers: checks the loop's thread-safety, not timing (only the outcome is asserted, with a
        // bound that names what it waited for).
        var path = new LossyLinkOptions { Delay = TimeSpan.FromMilliseconds(1) };
        var (a, b) = InMemoryPacketLink.CreatePair(TimeProvider.System, path, path, asynchronous: true);
        await using var client = new StreamMuxConnection(a, isClient: true);
        await using var server = new StreamMuxConnection(b, isClient: false);
        client.Start();
        server.Start();
        var work = Task.WhenAll(EchoCheckAsync(client, server, RandomBytes(4 << 20, 11)), EchoCheckAsync(server, client, RandomBytes(4 << 20, 12)));
        var finished = await Task.WhenAny(work, Task.Delay(TimeSpan.FromSeconds(60)));
        Assert.True(finished == work, $"two 4 MiB echoes did not finish within 60 s; client {client.Statistics}, server {server.Statistics}");
        await work;
    }

    [Fact]
    public void SameSeed_RunsTheSameInVirtualTime()
    {
        (TimeSpan, StreamMuxStatistics) Once()
        {
            var simulator = new Simulator();
            return simulator.Run(async () =>
            {
                await using var c = Connect(simulator, Lossy);
                var stream = await c.Client.OpenStreamAsync();
                var writing = WriteAllAsync(stream, RandomBytes(1 << 20, 2), 30_000);
                await ReadAllAsync(await c.Server.AcceptStreamAsync());
                await writing;
                return (simulator.Elapsed, c.Client.Statistics);
            });
        }

        var first = Once();
        Assert.Equal(first, Once());
        Assert.True(first.Item2.PacketsLost > 0);
    }

    [Fact]
    public void ZeroByteRead_WaitsForData_AndConsumesNothing() =>
        RunConnected(new LossyLinkOptions(), async (simulator, c) =>
        {
            var (stream, accepted) = await OpenAndSendAsync(c, 1);
            var waiting = accepted.ReadAsync(Memory<byte>.Empty).AsTask();
            await Task.Delay(TimeSpan.FromSeconds(1), simulator);
            Assert.False(waiting.IsCompleted);
            await stream.WriteAsync(new byte[] { 7 });
            Assert.Equal(0, await waiting);
            var buffer = new byte[4];
            Assert.Equal(1, await accepted.ReadAsync(buffer));
            Assert.Equal(7, buffer[0]);
        });

    [Fact]
    public void SixteenStreamsEachWay_AllArriveIntact()
    {
        var simulator = new Simulator();
        simulator.Run(async () =>
        {
            await using var c = Connect(simulator, Lossy);
            var tasks = new List<Task>();
            for (var i = 0; i < 16; i++)
            {
                tasks.Add(EchoCheckAsync(c.Client, c.Server, RandomBytes(100_000 + i, i)));
                tasks.Add(EchoCheckAsync(c.Server, c.Client, RandomBytes(50_000 + i, 100 + i)));
            }

            await Task.WhenAll(tasks);
        });
    }

    [Fact]
    public void SlowReader_HoldsTheWriterBack_UntilItReads()
    {
        var simulator = new Simulator();
        simulator.Run(async () =>
        {
            await using var c = Connect(simulator, new LossyLinkOptions());
            var stream = await c.Client.OpenStreamAsync();
            var data = RandomBytes(4 << 20, 3);
            var writing = stream.WriteAsync(data).AsTask();
            var accepted = await c.Server.AcceptStreamAsync();
            await Task.Delay(TimeSpan.FromSeconds(10), simulator);
            Assert.False(writing.IsCompleted);
            var server = c.Server.Statistics;
            Assert.True(server.ReceiveBufferBytes <= StreamMuxOptions.DefaultStreamReceiveWindowBytes + 4096, $"receiver holds {server.ReceiveBufferBytes} bytes");
            var received = new byte[data.Length];
            var total = 0;
            while (total < data.Length)
            {
                total += await accepted.ReadAsync(received.AsMemory(total));
            }

            await writing;
            Assert.Equal(data, received);
        });
    }

    [Fact]
    public void Abort_FailsThePeersReadWithTheCode_AndStopsItsWrites() =>
        RunConnected(new LossyLinkOptions(), async (simulator, c) =>
        {
            var (stream, accepted) = await OpenAndSendAsync(c, 1000);
            var pendingRead = accepted.ReadAsync(new byte[10]).AsTask();
            stream.Abort(77);
            var reset = await Assert.ThrowsAsync<StreamMuxException>(() => pendingRead);
            Assert.Equal(77, reset.ErrorCode);
            Assert.Null(reset.CloseInfo);

            // The client's STOP_SENDING(77) reached the server's send half: its writes fail with the code.
            await Task.Delay(TimeSpan.FromSeconds(1), simulator);
            var stopped = await Assert.ThrowsAsync<StreamMuxException>(async () => await accepted.WriteAsync(new byte[10]));
            Assert.Equal(77, stopped.ErrorCode);
        });

    [Fact]
    public void CancelledRead_LosesNoData_AndTheNextReadGetsIt() =>
        RunConnected(new LossyLinkOptions(), async (simulator, c) =>
        {
            var (stream, accepted) = await OpenAndSendAsync(c, 1);
            using (var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(100), simulator))
            {
                await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => _ = await accepted.ReadAsync(new byte[10], cts.Token));
            }

            await stream.WriteAsync(new byte[] { 2, 3 });
            var buffer = new byte[10];
            Assert.Equal(2, await accepted.ReadAsync(buffer));
            Assert.Equal([2, 3], buffer[..2]);
        });

    [Fact]
    public void DisposingAStream_FinishesIt_AndThePeerReadsToTheEnd()
    {
        var simulator = new Simulator();
        simulator.Run(async () =>
        {
            await using var c = Connect(simulator, Lossy);
            var data = RandomBytes(300_000, 8);
            await using (var stream = await c.Client.OpenStreamAsync())
            {
                await stream.WriteAsync(data);
            }

            var accepted = await c.Server.AcceptStreamAsync();
            Assert.Equal(data, await ReadAllAsync(accepted));
        });
    }

    [Fact]
    public void CloseAsync_ReachesThePeer_WithCodeAndReason_AndFailsItsWaiters() =>
        RunConnected(new LossyLinkOptions(), async (_, c) =>
        {
            var (_, accepted) = await OpenAndSendAsync(c, 1);
            var pendingRead = accepted.ReadAsync(new byte[1]).AsTask();
            var mine = await c.Client.CloseAsync(5, "shutting down");
            Assert.False(mine.ByPeer);
            var theirs = await c.Server.Completion;
            Assert.Equal(new MuxCloseInfo(5, true, "shutting down", ByPeer: true), theirs);
            var failed = await Assert.ThrowsAsync<StreamMuxException>(() => pendingRead);
            Assert.Equal(theirs, failed.CloseInfo);
            await Assert.ThrowsAsync<StreamMuxException>(async () => await c.Server.OpenStreamAsync());
        });

    [Fact]
    public void LinkClosing_ClosesBothConnections_AndFailsWaiters()
    {
        var simulator = new Simulator();
        simulator.Run(async () =>
        {
            await using var c = Connect(simulator, new LossyLinkOptions());
            var accepting = c.Server.AcceptStreamAsync().AsTask();
            c.ClientLink.Close();
            var info = await c.Client.Completion;
            Assert.Equal("the packet link closed", info.Reason);
            Assert.False(info.ByPeer);
            Assert.Equal("the packet link closed", (await c.Server.Completion).Reason);
            var failed = await Assert.ThrowsAsync<StreamMuxException>(() => accepting);
            Assert.NotNull(failed.CloseInfo);
        });
    }

    /// <summary>Runs <paramref name="body"/> under a new simulator with a connected pair on <paramref name="path"/>.</summary>
    private static void RunConnected(LossyLinkOptions path, Func<Simulator, Connected, Task> body)
    {
        var simulator = new Simulator();
        simulator.Run(async () =>
        {
            await using var c = Connect(simulator, path);
            await body(simulator, c);
        });
    }

    /// <summary>Opens a stream on the client, sends <paramref name="first"/> bytes, accepts it on the server and reads them.</summary>
    private static async Task<(MuxStream Stream, MuxStream Accepted)> OpenAndSendAsync(Connected c, int first)
    {
        var stream = await c.Client.OpenStreamAsync();
        await stream.WriteAsync(new byte[first]);
        var accepted = await c.Server.AcceptStreamAsync();
        Assert.Equal(first, await ReadExactlyAsync(accepted, first));
        return (stream, accepted);
    }

    /// <summary>Sends <paramref name="data"/> on a new stream; the acceptor reads it all, echoes it and finishes; the opener checks the echo. Both sides run at once (data larger than window + send buffer would otherwise deadlock).</summary>
    private static async Task EchoCheckAsync(StreamMuxConnection opener, StreamMuxConnection acceptor, byte[] data)
    {
        async Task EchoAsync()
        {
            await using var accepted = await acceptor.AcceptStreamAsync();
            var received = await ReadAllAsync(accepted);
            await accepted.WriteAsync(received);
        }

        var echo = EchoAsync();
        await using var stream = await opener.OpenStreamAsync();
        var writing = WriteAllAsync(stream, data, 256 * 1024);
        var echoed = await ReadAllAsync(stream);
        await writing;
        await echo;
        Assert.Equal(data, echoed);
    }

    private static async Task WriteAllAsync(MuxStream stream, byte[] data, int chunk)
    {
        for (var i = 0; i < data.Length; i += chunk)
        {
            await stream.WriteAsync(data.AsMemory(i, Math.Min(chunk, data.Length - i)));
        }

        await stream.CompleteWritesAsync();
    }

    private static async Task<byte[]> ReadAllAsync(MuxStream stream)
    {
        var result = new MemoryStream();
        var buffer = new byte[32 * 1024];
        int n;
        while ((n = await stream.ReadAsync(buffer)) > 0)
        {
            result.Write(buffer, 0, n);
        }

        return result.ToArray();
    }

    private static async Task<int> ReadExactlyAsync(MuxStream stream, int count)
    {
        var buffer = new byte[count];
        var total = 0;
        while (total < count)
        {
            var n = await stream.ReadAsync(buffer.AsMemory(total));
            Assert.True(n > 0, "the stream ended early");
            total += n;
        }

        return total;
    }

    private static byte[] RandomBytes(int length, int seed)
    {
        var data = new byte[length];
        new Random(seed).NextBytes(data);
        return data;
    }

    private static Connected Connect(Simulator simulator, LossyLinkOptions path, StreamMuxOptions? options = null)
    {
        var (a, b) = InMemoryPacketLink.CreatePair(simulator, path, path with { Seed = path.Seed + 1 });
        var client = new StreamMuxConnection(a, isClient: true, options, simulator);
        var server = new StreamMuxConnection(b, isClient: false, options, simulator);
        client.Start();
        server.Start();
        return new Connected(client, server, a, b);
    }

    private sealed record Connected(StreamMuxConnection Client, StreamMuxConnection Server, InMemoryPacketLink ClientLink, InMemoryPacketLink ServerLink) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await Client.DisposeAsync();
            await Server.DisposeAsync();
        }
    }
}
