using System.Net;

namespace Overlay.Kademlia;

/// <summary>
/// A node as the DHT knows it: its 256-bit ID and the UDP endpoint it answered from. The same port number carries
/// the node's TCP services (block exchange). Immutable; thread-safe.
/// </summary>
/// <param name="Id">The node ID (SHA-256 of its Ed25519 public key).</param>
/// <param name="EndPoint">The node's UDP endpoint (IPv4 or IPv6 address and port).</param>
public sealed record NodeContact(NodeId Id, IPEndPoint EndPoint)
{
    /// <summary>Returns "id-prefix@endpoint", for logs.</summary>
    public override string ToString() => $"{Id.ToShortString()}@{EndPoint}";
}
