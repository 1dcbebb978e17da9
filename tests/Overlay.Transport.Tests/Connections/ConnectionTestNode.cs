using System.Net;
using Overlay.Transport.Connections;

namespace Overlay.Transport.Tests.Connections;

/// <summary>A connection manager with a TCP acceptor on 127.0.0.1:0 and the TCP dialer (the TCP path end to end).</summary>
internal sealed class ConnectionTestNode : IAsyncDisposable
{
    public const string Echo = "/test/echo/1";

    private ConnectionTestNode(NodeIdentity identity, ConnectionManager manager, TcpLinkAcceptor acceptor)
    {
        Identity = identity;
        Manager = manager;
        Acceptor = acceptor;
    }

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

    public static NodeIdentity IdentityFor(int seed)
    {
        var bytes = new byte[32];
        new Random(seed).NextBytes(bytes);
        return NodeIdentity.FromSeed(bytes);
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
        await Manager.DisposeAsync();
    }
}
