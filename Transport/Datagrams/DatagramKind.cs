namespace Overlay.Transport.Datagrams;

/// <summary>What a datagram on the node's one UDP port carries, by its first bytes (see <see cref="DatagramDemux.Classify"/>).</summary>
public enum DatagramKind
{
    /// <summary>A Kademlia envelope (protobuf; its first byte is 0x08, the tag of field 1) or anything not claimed below:
    /// the DHT decodes it and counts what it drops, as it always has.</summary>
    Dht = 0,

    /// <summary>A session packet: first byte 0xD0..0xDF (handshake messages, cookie replies, transport data).</summary>
    Session = 1,

    /// <summary>A STUN message (RFC 8489 §5): first two bits 0, at least 20 bytes, the magic cookie 0x2112A442 at
    /// bytes 4..7.</summary>
    Stun = 2,
}
