using Microsoft.Extensions.Configuration;
using Overlay.Exchange;
using Overlay.Kademlia;
using Overlay.Transport.Connections;

namespace Overlay.Node.Configuration;

/// <summary>The validated options of every area, and where they came from. Immutable once loaded.</summary>
/// <param name="ConfigPath">The node.config.json that was read (it may not exist: then only defaults, environment and flags apply).</param>
/// <param name="Configuration">The merged configuration (file, then <c>OVERLAY__</c> environment, then flags); holds the Logging section.</param>
/// <param name="Node">The Node section.</param>
/// <param name="Kademlia">The Kademlia section.</param>
/// <param name="Exchange">The Exchange section.</param>
/// <param name="Connections">The Connections section (sessions with peers, over UDP and TCP).</param>
/// <param name="Storage">The Storage section.</param>
/// <param name="Api">The Api section.</param>
internal sealed record NodeSettings(
    string ConfigPath,
    IConfigurationRoot Configuration,
    NodeOptions Node,
    KademliaOptions Kademlia,
    ExchangeOptions Exchange,
    ConnectionManagerOptions Connections,
    StorageOptions Storage,
    ApiOptions Api)
{
    /// <summary>Gets the absolute data directory, with <c>~</c> expanded.</summary>
    public string DataDirectory => NodeConfigurationLoader.ExpandPath(Node.DataDir);
}
