using System.Net;
using System.Net.Sockets;

namespace Overlay.Node.Daemon;

/// <summary>The node's UDP (DHT) or TCP (block exchange) port is held by another socket.</summary>
internal sealed class PortInUseException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="protocol"><c>UDP</c> or <c>TCP</c>.</param>
    /// <param name="endPoint">The address and port that could not be bound.</param>
    /// <param name="innerException">The failed bind.</param>
    public PortInUseException(string protocol, IPEndPoint endPoint, SocketException innerException)
        : base($"{protocol} port {endPoint} is in use ({(protocol == "UDP" ? "DHT" : "block exchange")}; another overlay daemon?); choose another with --port P or Node:Port (0 = any free port)", innerException)
    {
        Protocol = protocol;
        EndPoint = endPoint;
    }

    /// <summary>Gets <c>UDP</c> or <c>TCP</c>.</summary>
    public string Protocol { get; }

    /// <summary>Gets the address and port that could not be bound.</summary>
    public IPEndPoint EndPoint { get; }
}
