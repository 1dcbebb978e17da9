using System.Security.Cryptography;
using Overlay.Transport.Connections;
using Overlay.Transport.Sessions;

namespace Overlay.Transport.Tests.Connections;

/// <summary>The connection manager with both paths on one port of 127.0.0.1, as the daemon runs it: UDP sessions first,
/// TCP when UDP does not answer, and the reasons of both when neither works. Real sockets and clock; every wait is
/// bounded.</summary>
public sealed class UdpPathTests : IDisposable
{
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromSeconds(60));

    public void Dispose() => _timeout.Dispose();

    [Fact]
    public async Task Dial_RunsOnAUdpSession_ProvesThePeer_AndCarriesFourMebibytesOnAStream()
    {
        await using var a = ConnectionTestNode.StartDual(1);
        await using var b = ConnectionTestNode.StartDual(2);
        var serving = b.ServeEchoAsync(_timeout.Token);
        var inbound = b.Manager.WatchAsync(_timeout.Token).GetAsyncEnumerator(_timeout.Token);
        var firstInbound = inbound.MoveNextAsync();

        var connection = await a.Manager.ConnectAsync(b.Address, _timeout.Token);

        Assert.Equal(ConnectionPath.Udp, connection.Path);
        Assert.Equal(b.Identity.Id, connection.RemoteId);
        Assert.Equal(b.Address.EndPoint, connection.RemoteEndPoint);
        Assert.True(connection.HandshakeTime > TimeSpan.Zero, $"handshake time {connection.HandshakeTime}");
        var data = RandomNumberGenerator.GetBytes(4 << 20);
        var echoed = await ConnectionTestNode.EchoAsync(connection, data, _timeout.Token);
        Assert.Equal(SHA256.HashData(data), SHA256.HashData(echoed));
        Assert.True(await firstInbound);
        Assert.Equal(ConnectionEventKind.Connected, inbound.Current.Kind);
        Assert.Equal(a.Identity.Id, inbound.Current.Peer);
        Assert.Equal(ConnectionPath.Udp, b.Manager.Find(a.Identity.Id)!.Path);
        Assert.Equal(1, a.Host!.SessionCount);
        await inbound.DisposeAsync();
    }

    [Fact]
    public async Task UdpThatNobodyAnswers_FallsBackToTcp_AfterTheAttemptDelay()
    {
        await using var a = ConnectionTestNode.StartDual(1);
        await using var b = ConnectionTestNode.StartDual(2, answerUdp: false);
        var serving = b.ServeEchoAsync(_timeout.Token);

        var connection = await a.Manager.ConnectAsync(b.Address, _timeout.Token);

        Assert.Equal(ConnectionPath.Tcp, connection.Path);
        Assert.Equal(b.Identity.Id, connection.RemoteId);
        var data = RandomNumberGenerator.GetBytes(64 << 10);
        Assert.Equal(data, await ConnectionTestNode.EchoAsync(connection, data, _timeout.Token));
    }

    [Fact]
    public async Task Dial_ExpectingAnotherId_FailsOnBothPaths_AndNamesEach()
    {
        await using var a = ConnectionTestNode.StartDual(1);
        await using var b = ConnectionTestNode.StartDual(2);
        var impostorClaim = new PeerAddress(b.Address.EndPoint, ConnectionTestNode.IdentityFor(99).Id);

        var failure = await Assert.ThrowsAsync<ConnectionFailedException>(() => a.Manager.ConnectAsync(impostorClaim, _timeout.Token));

        Assert.Equal(["tcp", "udp"], failure.Attempts.Select(x => x[..x.IndexOf(':')]).Order());
        Assert.Equal(0, a.Manager.Count);
        Assert.Equal(0, b.Host!.SessionCount);
    }

    [Fact]
    public async Task ClosingTheConnection_EndsTheUdpSessionOnBothSides()
    {
        await using var a = ConnectionTestNode.StartDual(1);
        await using var b = ConnectionTestNode.StartDual(2);
        var connection = await a.Manager.ConnectAsync(b.Address, _timeout.Token);
        var peerSide = await WaitForAsync(() => b.Manager.Find(a.Identity.Id));

        await connection.CloseAsync("done", _timeout.Token);

        var ended = await peerSide.Completion.WaitAsync(_timeout.Token);
        Assert.Equal(ConnectionEventKind.Closed, ended.Kind);
        await WaitForAsync(() => a.Host!.SessionCount == 0 && b.Host!.SessionCount == 0 ? "ok" : null);
    }

    private async Task<T> WaitForAsync<T>(Func<T?> probe)
        where T : class
    {
        while (true)
        {
            if (probe() is { } value)
            {
                return value;
            }

            await Task.Delay(10, _timeout.Token);
        }
    }
}
