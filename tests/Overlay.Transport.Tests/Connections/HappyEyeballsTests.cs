using System.Net;
using System.Net.Sockets;
using Overlay.Testing;
using Overlay.Testing.Streams;
using Overlay.Transport.Connections;
using Overlay.Transport.Sessions;
using Overlay.Transport.Sessions.Noise;
using Overlay.Transport.Sessions.Streams;

namespace Overlay.Transport.Tests.Connections;

/// <summary>The dial race of <see cref="ConnectionManager.ConnectAsync"/> (RFC 8305 §5) in virtual time, with scripted
/// path dialers: UDP first, TCP after the attempt delay or as soon as UDP failed, first session wins.</summary>
public sealed class HappyEyeballsTests : IDisposable
{
    private static readonly PeerAddress Peer = new(new IPEndPoint(IPAddress.Loopback, 4001));
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromSeconds(60));
    private readonly ManualTimeProvider _time = new();

    public void Dispose() => _timeout.Dispose();

    [Fact]
    public async Task UdpBlocked_TcpStartsAfterTheAttemptDelay_Wins_AndTheUdpAttemptIsCancelled()
    {
        var udp = new ScriptedDialer(ConnectionPath.Udp, _ => null);
        var tcp = new ScriptedDialer(ConnectionPath.Tcp, Session);
        await using var manager = Manager(udp, tcp);

        var dial = manager.ConnectAsync(Peer, _timeout.Token);
        Assert.Equal(1, udp.Started);
        _time.Advance(TimeSpan.FromMilliseconds(249));
        Assert.Equal(0, tcp.Started);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        var connection = await dial.WaitAsync(_timeout.Token);

        Assert.Equal(1, tcp.Started);
        Assert.Equal(ConnectionPath.Tcp, connection.Path);
        Assert.True(udp.LastToken.IsCancellationRequested);
    }

    [Fact]
    public async Task UdpFailsAtOnce_TcpStartsWithoutWaitingForTheDelay()
    {
        var udp = new ScriptedDialer(ConnectionPath.Udp, _ => throw new SecureHandshakeException(HandshakeFailure.Malformed, "no response"));
        var tcp = new ScriptedDialer(ConnectionPath.Tcp, Session);
        await using var manager = Manager(udp, tcp);

        var connection = await manager.ConnectAsync(Peer, _timeout.Token).WaitAsync(_timeout.Token);

        Assert.Equal(ConnectionPath.Tcp, connection.Path);
        Assert.Equal(1, tcp.Started);
    }

    [Fact]
    public async Task UdpSucceeds_TcpIsNeverTried()
    {
        var udp = new ScriptedDialer(ConnectionPath.Udp, Session);
        var tcp = new ScriptedDialer(ConnectionPath.Tcp, Session);
        await using var manager = Manager(udp, tcp);

        var connection = await manager.ConnectAsync(Peer, _timeout.Token).WaitAsync(_timeout.Token);
        _time.Advance(TimeSpan.FromSeconds(1));

        Assert.Equal(ConnectionPath.Udp, connection.Path);
        Assert.Equal(0, tcp.Started);
    }

    [Fact]
    public async Task EveryPathFails_TheErrorNamesEachOutcome()
    {
        var udp = new ScriptedDialer(ConnectionPath.Udp, _ => throw new SecureHandshakeException(HandshakeFailure.Malformed, "no handshake response after 5 attempts"));
        var tcp = new ScriptedDialer(ConnectionPath.Tcp, _ => throw new SocketException((int)SocketError.ConnectionRefused));
        await using var manager = Manager(udp, tcp);

        var failure = await Assert.ThrowsAsync<ConnectionFailedException>(() => manager.ConnectAsync(Peer, _timeout.Token));

        Assert.Equal(2, failure.Attempts.Count);
        Assert.StartsWith("udp: ", failure.Attempts[0]);
        Assert.Contains("no handshake response after 5 attempts", failure.Attempts[0]);
        Assert.Equal("tcp: connection refused", failure.Attempts[1]);
        Assert.Contains("could not connect to 127.0.0.1:4001", failure.Message);
        Assert.Equal(0, manager.Count);
    }

    [Fact]
    public async Task ConcurrentDialsToOnePeer_ShareOneAttempt()
    {
        var udp = new ScriptedDialer(ConnectionPath.Udp, Session, delay: true);
        await using var manager = Manager(udp);

        var first = manager.ConnectAsync(Peer, _timeout.Token);
        var second = manager.ConnectAsync(Peer, _timeout.Token);
        udp.Release();

        Assert.Same(await first.WaitAsync(_timeout.Token), await second.WaitAsync(_timeout.Token));
        Assert.Equal(1, udp.Started);
    }

    [Fact]
    public async Task TcpWinsWhileUdpCompletesLate_TheLateSessionIsClosed_AndOneConnectionRemains()
    {
        var udp = new ScriptedDialer(ConnectionPath.Udp, Session, delay: true, ignoreCancellation: true);
        var tcp = new ScriptedDialer(ConnectionPath.Tcp, Session);
        await using var manager = Manager(udp, tcp);

        var dial = manager.ConnectAsync(Peer, _timeout.Token);
        _time.Advance(TimeSpan.FromMilliseconds(250));
        var connection = await dial.WaitAsync(_timeout.Token);
        udp.Release();
        await udp.Completed.WaitAsync(_timeout.Token);

        Assert.Equal(ConnectionPath.Tcp, connection.Path);
        Assert.Equal(1, manager.Count);
        await udp.LastLinkDisposed.Task.WaitAsync(_timeout.Token);
    }

    private ConnectionManager Manager(params ILinkDialer[] dialers) =>
        new(ConnectionTestNode.IdentityFor(1).Id, new ConnectionManagerOptions(), dialers, _time);

    /// <summary>An established session with a peer that answers nothing (the manager only needs a live link).</summary>
    private static EstablishedLink Session(ScriptedDialer dialer)
    {
        var (mine, _) = InMemoryStreamPair.Create();
        var link = new DisposalRecordingLink(mine, dialer.LastLinkDisposed);
        return new EstablishedLink(link, dialer.Path, ConnectionTestNode.IdentityFor(2).Id, Peer.EndPoint, IsInitiator: true, StreamMuxOptions.ForReliablePath(), TimeSpan.FromMilliseconds(1));
    }

    /// <summary>A path dialer whose outcome a test scripts: a session, an exception, or (null) no answer until cancelled.</summary>
    private sealed class ScriptedDialer(ConnectionPath path, Func<ScriptedDialer, EstablishedLink?> outcome, bool delay = false, bool ignoreCancellation = false) : ILinkDialer
    {
        private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _completed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _started;

        public ConnectionPath Path { get; } = path;

        public int Started => Volatile.Read(ref _started);

        public CancellationToken LastToken { get; private set; }

        public Task Completed => _completed.Task;

        public TaskCompletionSource LastLinkDisposed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Release() => _release.TrySetResult();

        public async ValueTask<EstablishedLink> DialAsync(PeerAddress peer, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _started);
            LastToken = cancellationToken;
            try
            {
                if (delay)
                {
                    await _release.Task.WaitAsync(ignoreCancellation ? CancellationToken.None : cancellationToken);
                }

                var link = outcome(this);
                if (link is null)
                {
                    await Task.Delay(Timeout.Infinite, cancellationToken);
                }

                return link!;
            }
            finally
            {
                _completed.TrySetResult();
            }
        }
    }

    /// <summary>A packet link over a byte stream that nobody reads, noting its disposal.</summary>
    private sealed class DisposalRecordingLink(Stream stream, TaskCompletionSource disposed) : IPacketLink
    {
        public int MaxPayloadBytes => StreamMuxOptions.DefaultReliablePayloadBytes;

        public bool RequiresAsynchronousContinuations => true;

        public async ValueTask SendAsync(ReadOnlyMemory<byte> payload, long packetNumber, CancellationToken cancellationToken = default) =>
            await stream.WriteAsync(payload, cancellationToken);

        public async ValueTask<LinkPacket> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
            return LinkPacket.End;
        }

        public async ValueTask DisposeAsync()
        {
            disposed.TrySetResult();
            await stream.DisposeAsync();
        }
    }
}
