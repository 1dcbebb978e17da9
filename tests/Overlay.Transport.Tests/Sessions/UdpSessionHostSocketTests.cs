using System.Net;
using System.Security.Cryptography;
using Overlay.Transport.Datagrams;
using Overlay.Transport.Sessions;

namespace Overlay.Transport.Tests.Sessions;

/// <summary>
/// <see cref="UdpSessionHost"/> on real sockets: two <see cref="UdpMessageTransport"/>s on 127.0.0.1 behind
/// <see cref="DatagramDemux"/>es, the system clock and the thread pool. Only outcomes are asserted; every wait is
/// bounded and names what it waited for.
/// </summary>
public sealed class UdpSessionHostSocketTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task DialByEndpointWithTheExpectedId_OpensAStream_MovesEightMebibytesEachWay_AndCloses()
    {
        await using var aliceNode = Node.Create();
        await using var bobNode = Node.Create();
        var accepting = bobNode.Host.AcceptAsync().AsTask();
        var aliceLink = await Within(aliceNode.Host.ConnectAsync(bobNode.EndPoint, bobNode.Identity.Id), "the handshake");
        var bobLink = await Within(accepting, "the inbound session");
        Assert.Equal(bobNode.Identity.Id, aliceLink.RemoteId);
        Assert.Equal(aliceNode.Identity.Id, bobLink.RemoteId);

        await using var client = aliceNode.Host.StartStreams(aliceLink);
        await using var server = bobNode.Host.StartStreams(bobLink);
        var toBob = RandomNumberGenerator.GetBytes(8 << 20);
        var toAlice = RandomNumberGenerator.GetBytes(8 << 20);
        var stream = await Within(client.OpenStreamAsync().AsTask(), "opening a stream");
        var writing = Task.Run(async () =>
        {
            await stream.WriteAsync(toBob);
            await stream.CompleteWritesAsync();
        });
        var accepted = await Within(server.AcceptStreamAsync().AsTask(), "accepting the stream");
        var answering = Task.Run(async () =>
        {
            await accepted.WriteAsync(toAlice);
            await accepted.CompleteWritesAsync();
        });
        var atBob = await Within(ReadAllAsync(accepted), $"8 MiB to Bob (client {client.Statistics})");
        var atAlice = await Within(ReadAllAsync(stream), $"8 MiB to Alice (server {server.Statistics})");
        await Within(Task.WhenAll(writing, answering), "the writers");
        Assert.Equal(SHA256.HashData(toBob), SHA256.HashData(atBob));
        Assert.Equal(SHA256.HashData(toAlice), SHA256.HashData(atAlice));

        var closed = await Within(client.CloseAsync(0, "done").AsTask(), "closing");
        Assert.False(closed.ByPeer);
        Assert.Equal("done", (await Within(server.Completion, "the peer's close")).Reason);
    }

    [Fact]
    public async Task DiallingWithTheWrongExpectedId_FailsWithAClearException()
    {
        await using var aliceNode = Node.Create();
        await using var bobNode = Node.Create();
        var error = await Assert.ThrowsAsync<UdpSessionException>(() => Within(aliceNode.Host.ConnectAsync(bobNode.EndPoint, aliceNode.Identity.Id), "the failing handshake"));
        Assert.Equal(SessionCloseReason.HandshakeFailed, error.Reason);
        Assert.Equal(bobNode.EndPoint, error.Remote);
        Assert.Contains("could not prove the expected node ID", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, aliceNode.Host.SessionCount);
    }

    private static async Task<T> Within<T>(Task<T> task, string what)
    {
        var finished = await Task.WhenAny(task, Task.Delay(Bound));
        Assert.True(finished == task, $"{what} did not finish within {Bound}");
        return await task;
    }

    private static async Task Within(Task task, string what)
    {
        var finished = await Task.WhenAny(task, Task.Delay(Bound));
        Assert.True(finished == task, $"{what} did not finish within {Bound}");
        await task;
    }

    private static async Task<byte[]> ReadAllAsync(System.IO.Stream stream)
    {
        var result = new MemoryStream();
        await stream.CopyToAsync(result);
        return result.ToArray();
    }

    /// <summary>One node's socket, demultiplexer and session host on 127.0.0.1.</summary>
    private sealed class Node : IAsyncDisposable
    {
        private readonly DatagramDemux _demux;

        private Node(DatagramDemux demux, NodeIdentity identity)
        {
            _demux = demux;
            Identity = identity;
            Host = new UdpSessionHost(identity, demux.For(DatagramKind.Session));
            Host.Start();
        }

        public NodeIdentity Identity { get; }

        public UdpSessionHost Host { get; }

        public IPEndPoint EndPoint => _demux.LocalEndPoint;

        public static Node Create() =>
            new(new DatagramDemux(UdpMessageTransport.Bind(new IPEndPoint(IPAddress.Loopback, 0), 4 << 20)), NodeIdentity.Generate());

        public async ValueTask DisposeAsync()
        {
            await Host.DisposeAsync();
            await _demux.DisposeAsync();
        }
    }
}
