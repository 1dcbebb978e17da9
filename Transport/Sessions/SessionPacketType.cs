namespace Overlay.Transport.Sessions;

/// <summary>The first byte of a session packet on the node's UDP port (the range 0xD0..0xDF is the session layer's; see
/// <see cref="Datagrams.DatagramDemux"/>). Layouts are in <see cref="SessionPacket"/> and ARCHITECTURE.md.</summary>
internal enum SessionPacketType : byte
{
    /// <summary>Handshake initiation: Noise XX message 1, padded (0xD1).</summary>
    Initiation = 0xD1,

    /// <summary>Handshake response: Noise XX message 2 (0xD2).</summary>
    Response = 0xD2,

    /// <summary>Handshake finish: Noise XX message 3 (0xD3).</summary>
    Finish = 0xD3,

    /// <summary>Cookie reply to an initiation under load (0xD4).</summary>
    CookieReply = 0xD4,

    /// <summary>Transport data under key phase 0 (0xD5).</summary>
    Data = 0xD5,

    /// <summary>Transport data under key phase 1 (0xD6): the sender has rekeyed an odd number of times.</summary>
    DataPhase1 = 0xD6,
}
