using System.Net;
using System.Security.Cryptography;
using Overlay.Transport.Connections;
using Overlay.Transport.Sessions;
using Overlay.Transport.Sessions.Streams;

namespace Overlay.Transport.Tests.Connections;

/// <summary>The connection manager over the TCP path on loopback: one connection per peer, protocol routing, limits,
/// events, simultaneous dials.</summary>
public sealed class ConnectionManagerTests : IDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);
    private readonly CancellationTokenSource _timeout = new(Bound);

    public void Dispose() => _timeout.Dispose();

    [Fact]
    public async Task Dial_ProvesThePeer_CarriesAnEchoStream_AndIsReused()
    {
        await using var a = ConnectionTestNode.Start(1);
        await using var b = ConnectionTestNode.Start(2);
        var serving = b.ServeEchoAsync(_timeout.Token);
        var events = Collect(b.Manager, 1);

        var connection = await a.Manager.ConnectAsync(b.Address, _timeout.Token);
        Assert.Equal(b.Identity.Id, connection.RemoteId);
        Assert.Equal(ConnectionPath.Tcp, connection.Path);
        Assert.True(connection.IsInitiator);

        var data = RandomBytes(3, 1 << 20);
        var echoed = await ConnectionTestNode.EchoAsync(connection, data, _timeout.Token);
        Assert.Equal(SHA256.HashData(data), SHA256.HashData(echoed));

        var again = await a.Manager.ConnectAsync(new PeerAddress(b.Acceptor.LocalEndPoint), _timeout.Token);
        Assert.Same(connection, again);
        Assert.Same(connection, a.Manager.Find(b.Identity.Id));
        Assert.Equal(1, a.Manager.Count);

        var connected = Assert.Single(await events);
        Assert.Equal(ConnectionEventKind.Connected, connected.Kind);
        Assert.Equal(a.Identity.Id, connected.Peer);
        Assert.True(connection.Statistics.BytesSent >= data.Length, $"bytes sent {connection.Statistics.BytesSent}");
    }

    [Fact]
    public async Task Dial_ExpectingAnotherId_FailsWithTheHandshakeReason_AndLeavesNoConnection()
    {
        await using var a = ConnectionTestNode.Start(1);
        await using var b = ConnectionTestNode.Start(2);
        var impostorClaim = new PeerAddress(b.Acceptor.LocalEndPoint, ConnectionTestNode.IdentityFor(99).Id);

        var failure = await Assert.ThrowsAsync<ConnectionFailedException>(() => a.Manager.ConnectAsync(impostorClaim, _timeout.Token));
        Assert.StartsWith("tcp: ", Assert.Single(failure.Attempts));
        Assert.IsType<SecureHandshakeException>(failure.InnerException);
        Assert.Equal(0, a.Manager.Count);
    }

    [Fact]
    public async Task StreamOfAnUnknownProtocol_IsReset_AndAKnownOneStillWorks()
    {
        await using var a = ConnectionTestNode.Start(1);
        await using var b = ConnectionTestNode.Start(2);
        var serving = b.ServeEchoAsync(_timeout.Token);
        var connection = await a.Manager.ConnectAsync(b.Address, _timeout.Token);

        await using var unknown = await connection.OpenStreamAsync("/nobody/listens/1", _timeout.Token);
        await unknown.WriteAsync("hello"u8.ToArray(), _timeout.Token);
        var reset = await Assert.ThrowsAsync<StreamMuxException>(async () => await unknown.ReadAtLeastAsync(new byte[16], 1, throwOnEndOfStream: false, _timeout.Token));
        Assert.Equal(ConnectionManager.StreamRefusedCode, reset.ErrorCode);

        var echoed = await ConnectionTestNode.EchoAsync(connection, "still here"u8.ToArray(), _timeout.Token);
        Assert.Equal("still here"u8.ToArray(), echoed);
    }

    [Fact]
    public async Task Close_ReportsClosedWithTheReason_OnBothSides()
    {
        await using var a = ConnectionTestNode.Start(1);
        await using var b = ConnectionTestNode.Start(2);
        var bEvents = Collect(b.Manager, 2);
        var connection = await a.Manager.ConnectAsync(b.Address, _timeout.Token);

        await connection.CloseAsync("maintenance", _timeout.Token);
        var ended = await connection.Completion.WaitAsync(_timeout.Token);
        Assert.Equal(ConnectionEventKind.Closed, ended.Kind);
        Assert.Equal("maintenance", ended.Reason);

        var seen = await bEvents;
        Assert.Equal([ConnectionEventKind.Connected, ConnectionEventKind.Closed], seen.Select(e => e.Kind));
        Assert.Equal("closed by peer: maintenance", seen[1].Reason);
        await WaitUntil(() => a.Manager.Count == 0 && b.Manager.Count == 0);
        Assert.Null(a.Manager.Find(b.Identity.Id));
    }

    [Fact]
    public async Task PeerThatVanishes_IsReportedLost_NotClosed()
    {
        var raw = new RecordingConnector();
        var identity = ConnectionTestNode.IdentityFor(1);
        await using var a = ConnectionTestNode.Start(1, dialers: [new TcpLinkDialer(identity, TimeProvider.System, raw)]);
        await using var b = ConnectionTestNode.Start(2);
        var aEvents = Collect(a.Manager, 2);
        var connection = await a.Manager.ConnectAsync(b.Address, _timeout.Token);

        // The TCP connection dies under the session (no close record): the session ends without a reason from the peer.
        await raw.Last!.DisposeAsync();

        var seen = await aEvents;
        Assert.Equal([ConnectionEventKind.Connected, ConnectionEventKind.Lost], seen.Select(e => e.Kind));
        Assert.NotEmpty(seen[1].Reason);
        Assert.Equal(seen[1], await connection.Completion);
    }

    [Fact]
    public async Task InboundConnections_FromOneIp_AreCappedAtTheLimit_AndTheRefusedPeerHearsWhy()
    {
        await using var server = ConnectionTestNode.Start(1, new ConnectionManagerOptions { MaxConnectionsPerIp = 2 });
        var oneHost = IPAddress.Parse("192.0.2.7");
        var sessions = new List<(EstablishedLink Initiator, EstablishedLink Responder)>();
        for (var seed = 10; seed < 13; seed++)
        {
            sessions.Add(await SessionPairAsync(ConnectionTestNode.IdentityFor(seed), server.Identity, new IPEndPoint(oneHost, 40_000 + seed)));
        }

        var accepted = sessions.Select(s => server.Manager.AddInbound(s.Responder)).ToList();
        await using var refusedPeer = new StreamMuxConnection(sessions[2].Initiator.Link, isClient: true, StreamMuxOptions.ForReliablePath());
        refusedPeer.Start();

        Assert.NotNull(accepted[0]);
        Assert.NotNull(accepted[1]);
        Assert.Null(accepted[2]);
        Assert.Equal(2, server.Manager.Count);
        var heard = await refusedPeer.Completion.WaitAsync(_timeout.Token);
        Assert.True(heard.ByPeer);
        Assert.Equal("refused: ip-limit", heard.Reason);

        // Loopback counts address and port: a local swarm's nodes all connect from 127.0.0.1.
        var local = await SessionPairAsync(ConnectionTestNode.IdentityFor(20), server.Identity, new IPEndPoint(IPAddress.Loopback, 47_020));
        var local2 = await SessionPairAsync(ConnectionTestNode.IdentityFor(21), server.Identity, new IPEndPoint(IPAddress.Loopback, 47_021));
        var local3 = await SessionPairAsync(ConnectionTestNode.IdentityFor(22), server.Identity, new IPEndPoint(IPAddress.Loopback, 47_022));
        Assert.All(new[] { local, local2, local3 }, s => Assert.NotNull(server.Manager.AddInbound(s.Responder)));
    }

    [Fact]
    public async Task SimultaneousDials_LeaveOneConnection_TheOneDialledByTheLowerId_OnBothSides()
    {
        await using var a = ConnectionTestNode.Start(1);
        await using var b = ConnectionTestNode.Start(2);
        var aDialled = await SessionPairAsync(a.Identity, b.Identity);
        var bDialled = await SessionPairAsync(b.Identity, a.Identity);

        // Both sessions complete before either side has seen the other's: each side registers its own dial first.
        Assert.NotNull(a.Manager.AddInbound(aDialled.Initiator));
        Assert.NotNull(b.Manager.AddInbound(bDialled.Initiator));
        a.Manager.AddInbound(bDialled.Responder);
        b.Manager.AddInbound(aDialled.Responder);
        await WaitUntil(() => a.Manager.Count == 1 && b.Manager.Count == 1);

        var lowerIsA = a.Identity.Id.CompareTo(b.Identity.Id) < 0;
        Assert.Equal(lowerIsA, Assert.Single(a.Manager.Connections).IsInitiator);
        Assert.Equal(!lowerIsA, Assert.Single(b.Manager.Connections).IsInitiator);
        Assert.Same(Assert.Single(a.Manager.Connections), a.Manager.Find(b.Identity.Id));
    }

    [Fact]
    public async Task IdleConnection_IsClosedAfterTheIdleTimeout_AndABusyOneIsNot()
    {
        var options = new ConnectionManagerOptions { IdleTimeout = TimeSpan.FromMilliseconds(400), MaintenanceInterval = TimeSpan.FromMilliseconds(50) };
        await using var a = ConnectionTestNode.Start(1, options);
        await using var b = ConnectionTestNode.Start(2);
        var connection = await a.Manager.ConnectAsync(b.Address, _timeout.Token);
        var listener = b.Manager.Listen(ConnectionTestNode.Echo);

        // A stream held open keeps the connection past several idle timeouts.
        var held = await connection.OpenStreamAsync(ConnectionTestNode.Echo, _timeout.Token);
        var accepted = await listener.AcceptAsync(_timeout.Token);
        await Task.Delay(TimeSpan.FromSeconds(1.2), _timeout.Token);
        Assert.False(connection.Completion.IsCompleted);

        await held.DisposeAsync();
        await accepted.Stream.DisposeAsync();
        var ended = await connection.Completion.WaitAsync(_timeout.Token);
        Assert.Equal(ConnectionEventKind.Closed, ended.Kind);
        Assert.Equal("idle for 0.4 s", ended.Reason);
    }

    /// <summary>Subscribes now (before the caller acts) and collects the next <paramref name="count"/> events.</summary>
    private Task<List<ConnectionEvent>> Collect(ConnectionManager manager, int count)
    {
        var events = manager.WatchAsync(_timeout.Token).GetAsyncEnumerator(_timeout.Token);
        var first = events.MoveNextAsync();
        return ReadAsync(events, first, count);

        static async Task<List<ConnectionEvent>> ReadAsync(IAsyncEnumerator<ConnectionEvent> events, ValueTask<bool> first, int count)
        {
            var seen = new List<ConnectionEvent>();
            var more = await first;
            while (more)
            {
                seen.Add(events.Current);
                if (seen.Count == count)
                {
                    break;
                }

                more = await events.MoveNextAsync();
            }

            await events.DisposeAsync();
            return seen;
        }
    }

    private async Task WaitUntil(Func<bool> condition)
    {
        while (!condition())
        {
            await Task.Delay(10, _timeout.Token);
        }
    }

    /// <summary>One secure session over an in-memory byte stream, as both sides' established links.</summary>
    private async Task<(EstablishedLink Initiator, EstablishedLink Responder)> SessionPairAsync(NodeIdentity initiator, NodeIdentity responder, IPEndPoint? initiatorAt = null)
    {
        var (x, y) = Overlay.Testing.Streams.InMemoryStreamPair.Create();
        var accepting = SecureStreamChannel.EstablishAsync(y, responder, initiator: false, null, TimeProvider.System, cancellationToken: _timeout.Token);
        var dialled = await SecureStreamChannel.EstablishAsync(x, initiator, initiator: true, responder.Id, TimeProvider.System, cancellationToken: _timeout.Token);
        var accepted = await accepting;
        var somewhere = new IPEndPoint(IPAddress.Loopback, 9);
        return (
            new EstablishedLink(new ChannelPacketLink(dialled), ConnectionPath.Tcp, responder.Id, somewhere, IsInitiator: true, StreamMuxOptions.ForReliablePath(), TimeSpan.Zero),
            new EstablishedLink(new ChannelPacketLink(accepted), ConnectionPath.Tcp, initiator.Id, initiatorAt ?? somewhere, IsInitiator: false, StreamMuxOptions.ForReliablePath(), TimeSpan.Zero));
    }

    /// <summary>Plain TCP that keeps the last stream it opened, so a test can cut the connection under a session.</summary>
    private sealed class RecordingConnector : IStreamConnector
    {
        private readonly TcpStreamConnector _tcp = new();

        public Stream? Last { get; private set; }

        public async ValueTask<Stream> ConnectAsync(PeerAddress peer, CancellationToken cancellationToken = default)
        {
            Last = await _tcp.ConnectAsync(peer, cancellationToken);
            return Last;
        }
    }

    private static byte[] RandomBytes(int seed, int length)
    {
        var data = new byte[length];
        new Random(seed).NextBytes(data);
        return data;
    }
}
