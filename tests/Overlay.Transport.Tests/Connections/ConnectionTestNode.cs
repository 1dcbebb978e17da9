using System.Net;
using System.Net.Sockets;
using Overlay.Transport.Connections;
using Overlay.Transport.Datagrams;
using Overlay.Transport.Sessions;

namespace Overlay.Transport.Tests.Connections;

/// <summary>A connection manager with a TCP acceptor on 127.0.0.1:0 and the TCP dialer (the TCP path end to end), or
/// with both paths on one port number as a daemon has them (<see cref="StartDual"/>).</summary>
internal sealed class ConnectionTestNode : IAsyncDisposable
{
    public const string Echo = "/test/echo/1";

    private readonly DatagramDemux? _datagrams;
    private readonly UdpLinkAcceptor? _udpAcceptor;

    private ConnectionTestNode(NodeIdentity identity, ConnectionManager manager, TcpLinkAcceptor acceptor, DatagramDemux? datagrams = null, UdpSessionHost? host = null, UdpLinkAcceptor? udpAcceptor = null)
    {
        Identity = identity;
        Manager = manager;
        Acceptor = acceptor;
        _datagrams = datagrams;
        Host = host;
        _udpAcceptor = udpAcceptor;
    }

    /// <summary>Gets the UDP session host of a dual-path node, or null.</summary>
    public UdpSessionHost? Host { get; }

    public NodeIdentity Identity { get; }

    public ConnectionManager Manager { get; }

    public TcpLinkAcceptor Acceptor { get; }

    public PeerAddress Address => new(Acceptor.LocalEndPoint, Identity.Id);

    public static ConnectionTestNode Start(int seed, ConnectionManagerOptions? options = null, TimeProvider? time = null, IReadOnlyList<ILinkDialer>? dialers = null)
    {
        var identity = IdentityFor(seed);
        time ??= TimeProvider.System;
        var manager = new ConnectionManager(identity.Id, options ?? new ConnectionManagerOptions(), dialers ?? [new TcpLinkDialer(identity, time)], time);
        var acceptor = new TcpLinkAcceptor(TcpStreamListener.Start(new IPEndPoint(IPAddress.Loopback, 0)), identity, manager, time);
        acceptor.Start();
        manager.Start();
        return new ConnectionTestNode(identity, manager, acceptor);
    }

    /// <summary>A node with a UDP socket (sessions through a <see cref="DatagramDemux"/>) and a TCP listener on one
    /// port number of 127.0.0.1, dialling UDP first and TCP after the attempt delay.</summary>
    /// <param name="seed">Seeds the identity.</param>
    /// <param name="answerUdp">False leaves the UDP socket bound but unread: handshakes to it go unanswered, as behind a
    /// firewall that drops UDP.</param>
    /// <param name="options">Manager options; defaults when null.</param>
    public static ConnectionTestNode StartDual(int seed, bool answerUdp = true, ConnectionManagerOptions? options = null)
    {
        var identity = IdentityFor(seed);
        for (var attempt = 1; ; attempt++)
        {
            var datagrams = new DatagramDemux(UdpMessageTransport.Bind(new IPEndPoint(IPAddress.Loopback, 0), 4 << 20));
            TcpStreamListener listener;
            try
            {
                listener = TcpStreamListener.Start(datagrams.LocalEndPoint);
            }
            catch (SocketException) when (attempt < 32)
            {
                datagrams.DisposeAsync().AsTask().GetAwaiter().GetResult();
                continue;
            }

            var host = new UdpSessionHost(identity, datagrams.For(DatagramKind.Session));
            var manager = new ConnectionManager(identity.Id, options ?? new ConnectionManagerOptions(), [new UdpLinkDialer(host), new TcpLinkDialer(identity, TimeProvider.System)], TimeProvider.System);
            var acceptor = new TcpLinkAcceptor(listener, identity, manager, TimeProvider.System);
            var udpAcceptor = new UdpLinkAcceptor(host, manager);
            if (answerUdp)
            {
                host.Start();
                udpAcceptor.Start();
            }

            acceptor.Start();
            manager.Start();
            return new ConnectionTestNode(identity, manager, acceptor, datagrams, host, udpAcceptor);
        }
    }

    public static NodeIdentity IdentityFor(int seed)
    {
        var bytes = new byte[32];
        new Random(seed).NextBytes(bytes);
        return NodeIdentity.FromSeed(bytes);
    }

    /// <summary>Sends <paramref name="data"/> on a new <see cref="Echo"/> stream of <paramref name="connection"/>, ends
    /// its writes, and returns what came back.</summary>
    public static async Task<byte[]> EchoAsync(IConnection connection, byte[] data, CancellationToken cancellationToken)
    {
        await using var stream = await connection.OpenStreamAsync(Echo, cancellationToken);
        var write = Task.Run(async () =>
        {
            await stream.WriteAsync(data, cancellationToken);
            await ((Overlay.Transport.Sessions.Streams.MuxStream)stream).CompleteWritesAsync(cancellationToken);
        });
        var received = new MemoryStream();
        await stream.CopyToAsync(received, cancellationToken);
        await write;
        return received.ToArray();
    }

    /// <summary>Answers every stream of <see cref="Echo"/> with its own bytes until the listener closes.</summary>
    public async Task ServeEchoAsync(CancellationToken cancellationToken)
    {
        var listener = Manager.Listen(Echo);
        while (true)
        {
            AcceptedStream accepted;
            try
            {
                accepted = await listener.AcceptAsync(cancellationToken);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }

            _ = Task.Run(
                async () =>
                {
                    await using var stream = accepted.Stream;
                    await stream.CopyToAsync(stream, cancellationToken);
                },
                cancellationToken);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Acceptor.DisposeAsync();
        if (_udpAcceptor is not null)
        {
            await _udpAcceptor.DisposeAsync();
        }

        await Manager.DisposeAsync();
        if (Host is not null)
        {
            await Host.DisposeAsync();
        }

        if (_datagrams is not null)
        {
            await _datagrams.DisposeAsync();
        }
    }
}
