using System.Net;

namespace Overlay.Kademlia;

/// <summary>
/// A provider record: the node <paramref name="ProviderId"/> at <paramref name="EndPoint"/> serves the content whose
/// DHT key is <paramref name="Key"/> (libp2p kad-dht ADD_PROVIDER / GET_PROVIDERS). The endpoint is the address the
/// storing node observed the announcement from, so a node cannot announce on another's behalf. Immutable.
/// </summary>
/// <param name="Key">The content's DHT key (SHA-256 of the CID's multihash).</param>
/// <param name="ProviderId">The providing node's ID.</param>
/// <param name="EndPoint">Where the provider listens: UDP for the DHT, TCP on the same port for blocks.</param>
/// <param name="Expires">When the record stops being served unless re-announced.</param>
public sealed record ProviderRecord(NodeId Key, NodeId ProviderId, IPEndPoint EndPoint, DateTimeOffset Expires);
