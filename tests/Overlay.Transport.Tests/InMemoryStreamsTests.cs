using System.Net;
using System.Net.Sockets;
using Overlay.Testing.Streams;

namespace Overlay.Transport.Tests;

/// <summary>The in-memory stream doubles of Overlay.Testing behave as TCP does where tests rely on it.</summary>
public sealed class InMemoryStreamsTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Pair_CarriesBytesBothWays_AndDisposingOneEndIsEndOfStreamAtTheOther()
    {
        using var timeout = new CancellationTokenSource(Bound);
        var (a, b) = InMemoryStreamPair.Create();
        await a.WriteAsync("ping"u8.ToArray(), timeout.Token);
        var buffer = new byte[4];
        await b.ReadExactlyAsync(buffer, timeout.Token);
        Assert.Equal("ping"u8.ToArray(), buffer);
        await b.WriteAsync("pong"u8.ToArray(), timeout.Token);
        await a.ReadExactlyAsync(buffer, timeout.Token);
        Assert.Equal("pong"u8.ToArray(), buffer);

        await a.DisposeAsync();
        Assert.Equal(0, await b.ReadAsync(buffer, timeout.Token));
        await Assert.ThrowsAsync<IOException>(async () => await b.WriteAsync(new byte[1], timeout.Token));
        await b.DisposeAsync();
    }

    [Fact]
    public async Task Pair_BackPressuresTheWriter_AtTheBufferSize_UntilTheReaderReads()
    {
        using var timeout = new CancellationTokenSource(Bound);
        var (a, b) = InMemoryStreamPair.Create(bufferBytes: 1024);
        var write = a.WriteAsync(new byte[4096], timeout.Token).AsTask();
        await Task.Delay(50, timeout.Token);
        Assert.False(write.IsCompleted, "4 KiB written into a 1 KiB buffer with nobody reading");

        var read = 0;
        var buffer = new byte[512];
        while (read < 4096)
        {
            read += await b.ReadAsync(buffer, timeout.Token);
        }

        await write.WaitAsync(timeout.Token);
        Assert.Equal(4096, read);
    }

    [Fact]
    public async Task Network_DeliversStreamsToTheListener_WithTheConnectorsAddress_AndRefusesUnknownEndpoints()
    {
        using var timeout = new CancellationTokenSource(Bound);
        var network = new InMemoryStreamNetwork();
        var at = new IPEndPoint(IPAddress.Parse("10.0.0.1"), 4001);
        var listener = network.Listen(at);
        Assert.Throws<SocketException>(() => network.Listen(at));
        var connector = network.ConnectorFrom(IPAddress.Parse("10.0.0.2"));

        await using var client = await connector.ConnectAsync(at, timeout.Token);
        var accepted = await listener.AcceptAsync(timeout.Token);
        Assert.Equal(IPAddress.Parse("10.0.0.2"), accepted.Remote.Address);
        Assert.Null(accepted.Peer);
        await client.WriteAsync(new byte[] { 7 }, timeout.Token);
        Assert.Equal(7, accepted.Stream.ReadByte());

        var refused = await Assert.ThrowsAsync<SocketException>(async () => await connector.ConnectAsync(new IPEndPoint(at.Address, 4002), timeout.Token));
        Assert.Equal(SocketError.ConnectionRefused, refused.SocketErrorCode);

        await listener.DisposeAsync();
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await listener.AcceptAsync(timeout.Token));
        await Assert.ThrowsAsync<SocketException>(async () => await connector.ConnectAsync(at, timeout.Token));
        await accepted.Stream.DisposeAsync();
    }
}
