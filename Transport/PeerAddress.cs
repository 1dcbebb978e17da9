using System.Net;

namespace Overlay.Transport;

/// <summary>
/// Where to reach a peer: its address and port, and the node ID expected there when it is known (from a provider record
/// or a routing table). A secure dial to a peer address with an ID fails unless the other end proves that ID; a plain
/// TCP dial ignores it.
/// </summary>
/// <param name="EndPoint">The peer's address and port (UDP and TCP share the port number).</param>
/// <param name="Id">The node ID expected at <paramref name="EndPoint"/>, or null to accept whoever proves an ID there.</param>
public readonly record struct PeerAddress(IPEndPoint EndPoint, NodeId? Id = null)
{
    /// <summary>Converts an endpoint to a peer address without an expected ID.</summary>
    /// <param name="endPoint">The endpoint.</param>
    public static implicit operator PeerAddress(IPEndPoint endPoint) => new(endPoint);

    /// <summary>Returns <c>ID@address:port</c>, or <c>address:port</c> without an ID.</summary>
    /// <returns>The text.</returns>
    public override string ToString() => Id is { } id ? $"{id}@{EndPoint}" : EndPoint.ToString();
}
