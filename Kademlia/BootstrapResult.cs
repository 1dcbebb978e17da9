namespace Overlay.Kademlia;

/// <summary>The outcome of joining the swarm through bootstrap contacts.</summary>
/// <param name="ContactsReached">Bootstrap contacts that answered a PING.</param>
/// <param name="RoutingTableSize">Contacts in the routing table after the self-lookup and refresh.</param>
public sealed record BootstrapResult(int ContactsReached, int RoutingTableSize);
