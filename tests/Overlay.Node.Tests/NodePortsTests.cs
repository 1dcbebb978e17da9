using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using Overlay.Kademlia;
using Overlay.Node.Daemon;

namespace Overlay.Node.Tests;

/// <summary><see cref="NodePorts"/>: the DHT's UDP port and the exchange's TCP port are one number, and port 0 never
/// fails because the OS picked a UDP port whose TCP side another socket holds.</summary>
public sealed class NodePortsTests
{
    private static readonly NullLogger<UdpMessageTransport> Log = NullLogger<UdpMessageTransport>.Instance;

    [Fact]
    public async Task PortZero_BindsUdpAndTcp_OnOnePortNumber()
    {
        var (transport, listener) = NodePorts.Bind(IPAddress.Loopback, 0, 64 * 1024, Log);
        try
        {
            Assert.NotEqual(0, transport.LocalEndPoint.Port);
            Assert.Equal(transport.LocalEndPoint.Port, ((IPEndPoint)listener.LocalEndpoint).Port);
        }
        finally
        {
            listener.Stop();
            await transport.DisposeAsync();
        }
    }

    [Fact]
    public async Task PortZero_WhenThePickedPortsTcpSideIsTaken_ReleasesItAndTriesAnother()
    {
        using var squatter = new TcpListener(IPAddress.Loopback, 0);
        squatter.Start();
        var taken = ((IPEndPoint)squatter.LocalEndpoint).Port;
        var asked = new List<int>();
        var udpBinds = 0;

        // The first UDP bind lands on the squatted port number (as an unlucky OS pick would); later ones are the OS's.
        var (transport, listener) = NodePorts.Bind(IPAddress.Loopback, 0, endPoint =>
        {
            asked.Add(endPoint.Port);
            return UdpMessageTransport.Bind(new IPEndPoint(endPoint.Address, udpBinds++ == 0 ? taken : endPoint.Port), 64 * 1024, Log);
        });
        try
        {
            Assert.Equal([0, 0], asked);
            Assert.NotEqual(taken, transport.LocalEndPoint.Port);
            Assert.Equal(transport.LocalEndPoint.Port, ((IPEndPoint)listener.LocalEndpoint).Port);

            // The first UDP socket was released: its port can be bound again.
            using var again = new UdpClient(new IPEndPoint(IPAddress.Loopback, taken));
        }
        finally
        {
            listener.Stop();
            await transport.DisposeAsync();
        }
    }

    [Fact]
    public void FixedPort_WhoseTcpSideIsTaken_IsRefusedNamingTcp_AndReleasesTheUdpSocket()
    {
        using var squatter = new TcpListener(IPAddress.Loopback, 0);
        squatter.Start();
        var taken = ((IPEndPoint)squatter.LocalEndpoint).Port;

        var error = Assert.Throws<PortInUseException>(() => NodePorts.Bind(IPAddress.Loopback, taken, 64 * 1024, Log));

        Assert.Equal("TCP", error.Protocol);
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, taken), error.EndPoint);
        Assert.StartsWith($"TCP port 127.0.0.1:{taken} is in use (block exchange;", error.Message, StringComparison.Ordinal);
        using var again = new UdpClient(new IPEndPoint(IPAddress.Loopback, taken));
    }

    [Fact]
    public void FixedPort_WhoseUdpSideIsTaken_IsRefusedNamingUdp()
    {
        using var squatter = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        var taken = ((IPEndPoint)squatter.Client.LocalEndPoint!).Port;

        var error = Assert.Throws<PortInUseException>(() => NodePorts.Bind(IPAddress.Loopback, taken, 64 * 1024, Log));

        Assert.Equal("UDP", error.Protocol);
        Assert.StartsWith($"UDP port 127.0.0.1:{taken} is in use (DHT;", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void PortZero_GivesUpAfterMaxAttempts_WhenEveryPickIsTaken()
    {
        using var squatter = new TcpListener(IPAddress.Loopback, 0);
        squatter.Start();
        var taken = ((IPEndPoint)squatter.LocalEndpoint).Port;
        var binds = 0;

        var error = Assert.Throws<PortInUseException>(() => NodePorts.Bind(IPAddress.Loopback, 0, endPoint =>
        {
            binds++;
            return UdpMessageTransport.Bind(new IPEndPoint(endPoint.Address, taken), 64 * 1024, Log);
        }));

        Assert.Equal("TCP", error.Protocol);
        Assert.Equal(NodePorts.MaxAttempts, binds);
    }
}
