using System.Net;
using System.Net.Sockets;
using Overlay.Transport.Internal;

namespace Overlay.Transport.Tests;

/// <summary>Both ends of a session's TCP connection probe a silent peer, so it is reported lost within 30 s.</summary>
public sealed class TcpKeepAliveTests
{
    [Fact]
    public async Task ConnectorAndListenerSockets_ProbeAfter15s_Every5s_DeadAfter3()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await using var listener = TcpStreamListener.Start(new IPEndPoint(IPAddress.Loopback, 0));
        var accepting = listener.AcceptAsync(timeout.Token);
        await using var dialled = (NetworkStream)await new TcpStreamConnector().ConnectAsync(listener.LocalEndPoint, timeout.Token);
        var accepted = await accepting;
        await using var acceptedStream = (NetworkStream)accepted.Stream;

        foreach (var socket in new[] { dialled.Socket, acceptedStream.Socket })
        {
            Assert.Equal(1, (int)socket.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive)!);
            Assert.Equal(TcpKeepAlive.IdleSeconds, (int)socket.GetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveTime)!);
            Assert.Equal(TcpKeepAlive.IntervalSeconds, (int)socket.GetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveInterval)!);
            Assert.Equal(TcpKeepAlive.Probes, (int)socket.GetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveRetryCount)!);
        }

        Assert.Equal(TimeSpan.FromSeconds(30), TcpKeepAlive.DeadAfter);
    }
}
