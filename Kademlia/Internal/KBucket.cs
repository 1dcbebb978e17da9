namespace Overlay.Kademlia.Internal;

/// <summary>
/// One k-bucket (paper §2.2): up to k contacts ordered least-recently seen first, plus a replacement cache of up to k
/// contacts (paper §4.1) that were heard while the bucket was full. Not thread-safe; owned by <see cref="RoutingTable"/>.
/// </summary>
internal sealed class KBucket
{
    /// <summary>Contacts, least-recently seen first (head = eviction candidate).</summary>
    public List<RoutingEntry> Contacts { get; } = [];

    /// <summary>Replacement cache, most recently seen last.</summary>
    public List<NodeContact> Replacements { get; } = [];

    /// <summary>Whether a PING to the head is in flight to decide its eviction.</summary>
    public bool EvictionPingPending { get; set; }

    /// <summary>Monotonic timestamp (TimeProvider ticks) of the last lookup in this bucket's range.</summary>
    public long LastTouched { get; set; }
}

/// <summary>A contact in a k-bucket with its count of consecutive failed RPCs.</summary>
/// <param name="contact">The contact.</param>
internal sealed class RoutingEntry(NodeContact contact)
{
    private Wire.Contact? _wire;
    private byte[]? _encoded;

    /// <summary>Gets the contact.</summary>
    public NodeContact Contact { get; } = contact;

    /// <summary>Consecutive RPC failures since the contact last answered.</summary>
    public int Failures { get; set; }

    /// <summary>Monotonic timestamp (TimeProvider ticks) of the last time the contact answered us.</summary>
    public long LastSeen { get; set; }

    /// <summary>
    /// Gets the contact's wire form, built once: a FIND_NODE answer carries up to k of them, and building each anew
    /// allocated two byte arrays and a message per contact per answer. Shared by every answer; never mutated.
    /// </summary>
    public Wire.Contact Wire => _wire ??= WireCodec.ToContact(Contact);

    /// <summary>
    /// Gets the protobuf encoding of <see cref="Wire"/> (about 42 bytes for IPv4, 54 for IPv6), built once: FIND_NODE
    /// answers copy it as it is (<see cref="NodesAnswer"/>). Never mutated.
    /// </summary>
    public byte[] Encoded => _encoded ??= Google.Protobuf.MessageExtensions.ToByteArray(Wire);
}
