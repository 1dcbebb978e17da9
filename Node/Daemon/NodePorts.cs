using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Overlay.Kademlia;

namespace Overlay.Node.Daemon;

/// <summary>
/// Binds the node's two sockets to one port number: UDP for the DHT, TCP for the block exchange. With port 0 the OS
/// picks the UDP port and the TCP port must match it; when some other socket already holds that TCP port, the pair is
/// released and tried again on a new UDP port (at most <see cref="MaxAttempts"/> times), so <c>--port 0</c> never fails
/// because of an unlucky pick.
/// </summary>
internal static class NodePorts
{
    /// <summary>Most UDP ports tried when port 0 is asked for: 32.</summary>
    internal const int MaxAttempts = 32;

    /// <summary>Binds the UDP transport and a listening TCP socket at <paramref name="address"/>:<paramref name="port"/>.</summary>
    /// <param name="address">A local address.</param>
    /// <param name="port">0..65535; 0 = any port number free for both protocols.</param>
    /// <param name="receiveBufferBytes">The UDP receive buffer, bytes.</param>
    /// <param name="logger">The transport's logger.</param>
    /// <returns>The transport and the started (listening, not yet accepting) TCP listener, on the same port number.
    /// The caller owns both.</returns>
    /// <exception cref="PortInUseException">A fixed port is taken (UDP or TCP), or 32 OS-picked UDP ports all had their
    /// TCP port taken.</exception>
    /// <exception cref="SocketException">The address cannot be bound for another reason (e.g. it is not local).</exception>
    public static (UdpMessageTransport Transport, TcpListener Listener) Bind(IPAddress address, int port, int receiveBufferBytes, ILogger<UdpMessageTransport> logger) =>
        Bind(address, port, endPoint => UdpMessageTransport.Bind(endPoint, receiveBufferBytes, logger, receiveOffload: true));

    /// <summary>As <see cref="Bind(IPAddress, int, int, ILogger{UdpMessageTransport})"/>, with the UDP bind given: tests
    /// use it to make the OS's pick land on a port whose TCP side is taken.</summary>
    /// <param name="address">A local address.</param>
    /// <param name="port">0..65535; 0 = any port number free for both protocols.</param>
    /// <param name="bindUdp">Binds the UDP transport at an endpoint.</param>
    /// <returns>The transport and the started TCP listener, on the same port number.</returns>
    internal static (UdpMessageTransport Transport, TcpListener Listener) Bind(IPAddress address, int port, Func<IPEndPoint, UdpMessageTransport> bindUdp)
    {
        for (var attempt = 1; ; attempt++)
        {
            UdpMessageTransport transport;
            try
            {
                transport = bindUdp(new IPEndPoint(address, port));
            }
            catch (SocketException ex) when (ex.SocketErrorCode == SocketError.AddressAlreadyInUse)
            {
                throw new PortInUseException("UDP", new IPEndPoint(address, port), ex);
            }

            var tcpEndPoint = new IPEndPoint(address, transport.LocalEndPoint.Port);
            var listener = new TcpListener(tcpEndPoint);
            try
            {
                listener.Start();
                return (transport, listener);
            }
            catch (SocketException ex)
            {
                listener.Stop();
                transport.DisposeAsync().AsTask().GetAwaiter().GetResult();
                if (ex.SocketErrorCode != SocketError.AddressAlreadyInUse)
                {
                    throw;
                }

                if (port != 0 || attempt == MaxAttempts)
                {
                    throw new PortInUseException("TCP", tcpEndPoint, ex);
                }
            }
        }
    }
}
