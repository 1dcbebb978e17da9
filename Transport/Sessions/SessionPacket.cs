using System.Buffers.Binary;

namespace Overlay.Transport.Sessions;

/// <summary>
/// Byte layouts of the session packets (integers little endian, as WireGuard's):
/// <list type="table">
/// <item><term>Initiation (0xD1)</term><description>type 1 | sender index 4 | cookie length 1 (0 or 16) | cookie 0/16 |
/// handshake message 1 (33 bytes: the offered cipher suites, 1 byte, then the 32-byte ephemeral key) | zero padding to
/// at least <see cref="MinInitiationBytes"/>.
/// The padding lets the responder answer within 3 × the bytes it received (RFC 9000 §8).</description></item>
/// <item><term>Response (0xD2)</term><description>type 1 | sender index 4 | receiver index 4 | handshake message 2 (the
/// chosen cipher suite, 1 byte, then Noise message 2).</description></item>
/// <item><term>Finish (0xD3)</term><description>type 1 | receiver index 4 | Noise message 3.</description></item>
/// <item><term>Cookie reply (0xD4)</term><description>type 1 | receiver index 4 | cookie 16.</description></item>
/// <item><term>Data (0xD5, 0xD6)</term><description>type 1 (key phase 0 or 1) | receiver index 4 | packet number 8 |
/// AEAD ciphertext of the payload under the session's suite (AES-256-GCM or ChaCha20-Poly1305) | tag 16. The header is the AEAD's associated data; the packet number
/// is its nonce.</description></item>
/// </list>
/// A receiver index is the 32-bit number the receiving side chose for the session (WireGuard §5.4.2), so a packet finds
/// its session without the sender's address, which lets a session survive a NAT rebinding. Reads never throw on
/// untrusted bytes.
/// </summary>
internal static class SessionPacket
{
    /// <summary>Least size of an initiation, bytes: 256, so that a response of up to 768 bytes is within 3 × (RFC 9000 §8.1).</summary>
    public const int MinInitiationBytes = 256;

    /// <summary>Bytes of the handshake message 1 carried in an initiation: the offered-suites byte and the 32-byte
    /// ephemeral key (<see cref="Noise.SecureHandshake.Message1Bytes"/>).</summary>
    public const int InitiationHandshakeBytes = Noise.SecureHandshake.Message1Bytes;

    /// <summary>Header of a data packet, bytes: type 1 + receiver index 4 + packet number 8 = 13.</summary>
    public const int DataHeaderBytes = 13;

    /// <summary>AEAD tag, bytes: 16 (both suites).</summary>
    public const int TagBytes = 16;

    /// <summary>Largest plaintext payload of a data packet in a 1232-byte datagram: 1232 − 13 − 16 = 1203 bytes.</summary>
    public const int MaxDataPayloadBytes = IMessageTransport.MaxDatagramBytes - DataHeaderBytes - TagBytes;

    /// <summary>Size of a cookie reply, bytes: 21.</summary>
    public const int CookieReplyBytes = 1 + 4 + CookieGenerator.CookieLength;

    /// <summary>Header of a response, bytes: type 1 + sender index 4 + receiver index 4 = 9.</summary>
    public const int ResponseHeaderBytes = 9;

    /// <summary>Header of a finish, bytes: type 1 + receiver index 4 = 5.</summary>
    public const int FinishHeaderBytes = 5;

    /// <summary>Writes an initiation, zero-padded to <see cref="MinInitiationBytes"/>.</summary>
    /// <param name="destination">At least <see cref="MinInitiationBytes"/> bytes.</param>
    /// <param name="senderIndex">The initiator's index for the session.</param>
    /// <param name="cookie">Empty, or the 16-byte cookie of a cookie reply.</param>
    /// <param name="handshakeMessage">Handshake message 1: <see cref="InitiationHandshakeBytes"/> (33) bytes.</param>
    /// <returns>Bytes written: <see cref="MinInitiationBytes"/>.</returns>
    /// <exception cref="ArgumentException">A length is wrong or <paramref name="destination"/> is too short.</exception>
    public static int WriteInitiation(Span<byte> destination, uint senderIndex, ReadOnlySpan<byte> cookie, ReadOnlySpan<byte> handshakeMessage)
    {
        if (cookie.Length is not (0 or CookieGenerator.CookieLength) || handshakeMessage.Length != InitiationHandshakeBytes || destination.Length < MinInitiationBytes)
        {
            throw new ArgumentException($"an initiation needs a 0- or 16-byte cookie, a {InitiationHandshakeBytes}-byte handshake message and {MinInitiationBytes} bytes of room");
        }

        destination[0] = (byte)SessionPacketType.Initiation;
        BinaryPrimitives.WriteUInt32LittleEndian(destination[1..], senderIndex);
        destination[5] = (byte)cookie.Length;
        cookie.CopyTo(destination[6..]);
        handshakeMessage.CopyTo(destination[(6 + cookie.Length)..]);
        destination[(6 + cookie.Length + InitiationHandshakeBytes)..MinInitiationBytes].Clear();
        return MinInitiationBytes;
    }

    /// <summary>Reads an initiation.</summary>
    /// <param name="packet">A received datagram whose first byte is 0xD1.</param>
    /// <param name="senderIndex">The initiator's index.</param>
    /// <param name="cookie">The echoed cookie, or empty.</param>
    /// <param name="handshakeMessage">Handshake message 1: 33 bytes (offered suites, ephemeral key).</param>
    /// <returns>False when the type, the cookie length or the size (below <see cref="MinInitiationBytes"/>) is wrong.</returns>
    public static bool TryReadInitiation(ReadOnlySpan<byte> packet, out uint senderIndex, out ReadOnlySpan<byte> cookie, out ReadOnlySpan<byte> handshakeMessage)
    {
        senderIndex = 0;
        cookie = default;
        handshakeMessage = default;
        if (packet.Length < MinInitiationBytes || packet[0] != (byte)SessionPacketType.Initiation || packet[5] is not (0 or CookieGenerator.CookieLength))
        {
            return false;
        }

        senderIndex = BinaryPrimitives.ReadUInt32LittleEndian(packet[1..]);
        cookie = packet.Slice(6, packet[5]);
        handshakeMessage = packet.Slice(6 + packet[5], InitiationHandshakeBytes);
        return true;
    }

    /// <summary>Writes a response header; handshake message 2 follows at offset <see cref="ResponseHeaderBytes"/>.</summary>
    /// <param name="destination">At least 9 bytes.</param>
    /// <param name="senderIndex">The responder's index for the session.</param>
    /// <param name="receiverIndex">The initiator's index, from its initiation.</param>
    public static void WriteResponseHeader(Span<byte> destination, uint senderIndex, uint receiverIndex)
    {
        destination[0] = (byte)SessionPacketType.Response;
        BinaryPrimitives.WriteUInt32LittleEndian(destination[1..], senderIndex);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[5..], receiverIndex);
    }

    /// <summary>Reads a response.</summary>
    /// <param name="packet">A received datagram whose first byte is 0xD2.</param>
    /// <param name="senderIndex">The responder's index.</param>
    /// <param name="receiverIndex">The initiator's index (the initiator's own).</param>
    /// <param name="noiseMessage">Handshake message 2: the chosen suite, then Noise message 2 (the rest of the packet).</param>
    /// <returns>False when the type is wrong or the packet has no room for a message.</returns>
    public static bool TryReadResponse(ReadOnlySpan<byte> packet, out uint senderIndex, out uint receiverIndex, out ReadOnlySpan<byte> noiseMessage)
    {
        senderIndex = 0;
        receiverIndex = 0;
        noiseMessage = default;
        if (packet.Length <= ResponseHeaderBytes || packet[0] != (byte)SessionPacketType.Response)
        {
            return false;
        }

        senderIndex = BinaryPrimitives.ReadUInt32LittleEndian(packet[1..]);
        receiverIndex = BinaryPrimitives.ReadUInt32LittleEndian(packet[5..]);
        noiseMessage = packet[ResponseHeaderBytes..];
        return true;
    }

    /// <summary>Writes a finish header; Noise message 3 follows at offset <see cref="FinishHeaderBytes"/>.</summary>
    /// <param name="destination">At least 5 bytes.</param>
    /// <param name="receiverIndex">The responder's index, from its response.</param>
    public static void WriteFinishHeader(Span<byte> destination, uint receiverIndex)
    {
        destination[0] = (byte)SessionPacketType.Finish;
        BinaryPrimitives.WriteUInt32LittleEndian(destination[1..], receiverIndex);
    }

    /// <summary>Reads a finish.</summary>
    /// <param name="packet">A received datagram whose first byte is 0xD3.</param>
    /// <param name="receiverIndex">The responder's index (the responder's own).</param>
    /// <param name="noiseMessage">Noise message 3.</param>
    /// <returns>False when the type is wrong or the packet has no room for a message.</returns>
    public static bool TryReadFinish(ReadOnlySpan<byte> packet, out uint receiverIndex, out ReadOnlySpan<byte> noiseMessage)
    {
        receiverIndex = 0;
        noiseMessage = default;
        if (packet.Length <= FinishHeaderBytes || packet[0] != (byte)SessionPacketType.Finish)
        {
            return false;
        }

        receiverIndex = BinaryPrimitives.ReadUInt32LittleEndian(packet[1..]);
        noiseMessage = packet[FinishHeaderBytes..];
        return true;
    }

    /// <summary>Writes a cookie reply.</summary>
    /// <param name="destination">At least <see cref="CookieReplyBytes"/> bytes.</param>
    /// <param name="receiverIndex">The initiator's index, from its initiation.</param>
    /// <param name="cookie">The 16-byte cookie.</param>
    /// <returns>Bytes written: 21.</returns>
    public static int WriteCookieReply(Span<byte> destination, uint receiverIndex, ReadOnlySpan<byte> cookie)
    {
        destination[0] = (byte)SessionPacketType.CookieReply;
        BinaryPrimitives.WriteUInt32LittleEndian(destination[1..], receiverIndex);
        cookie[..CookieGenerator.CookieLength].CopyTo(destination[5..]);
        return CookieReplyBytes;
    }

    /// <summary>Reads a cookie reply.</summary>
    /// <param name="packet">A received datagram whose first byte is 0xD4.</param>
    /// <param name="receiverIndex">The initiator's index.</param>
    /// <param name="cookie">The 16-byte cookie.</param>
    /// <returns>False unless the packet is exactly a cookie reply.</returns>
    public static bool TryReadCookieReply(ReadOnlySpan<byte> packet, out uint receiverIndex, out ReadOnlySpan<byte> cookie)
    {
        receiverIndex = 0;
        cookie = default;
        if (packet.Length != CookieReplyBytes || packet[0] != (byte)SessionPacketType.CookieReply)
        {
            return false;
        }

        receiverIndex = BinaryPrimitives.ReadUInt32LittleEndian(packet[1..]);
        cookie = packet[5..];
        return true;
    }

    /// <summary>Writes a data packet's header; the ciphertext and tag follow at <see cref="DataHeaderBytes"/>.</summary>
    /// <param name="destination">At least 13 bytes.</param>
    /// <param name="keyPhase">0 or 1.</param>
    /// <param name="receiverIndex">The peer's index for the session.</param>
    /// <param name="packetNumber">The packet number (the AEAD nonce's counter).</param>
    public static void WriteDataHeader(Span<byte> destination, int keyPhase, uint receiverIndex, ulong packetNumber)
    {
        destination[0] = keyPhase == 0 ? (byte)SessionPacketType.Data : (byte)SessionPacketType.DataPhase1;
        BinaryPrimitives.WriteUInt32LittleEndian(destination[1..], receiverIndex);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[5..], packetNumber);
    }

    /// <summary>Reads a data packet's header.</summary>
    /// <param name="packet">A received datagram whose first byte is 0xD5 or 0xD6.</param>
    /// <param name="keyPhase">0 or 1.</param>
    /// <param name="receiverIndex">This side's index for the session.</param>
    /// <param name="packetNumber">The packet number.</param>
    /// <returns>False when the type is wrong or the packet is shorter than a header and a tag (an empty payload is a keepalive).</returns>
    public static bool TryReadDataHeader(ReadOnlySpan<byte> packet, out int keyPhase, out uint receiverIndex, out ulong packetNumber)
    {
        keyPhase = 0;
        receiverIndex = 0;
        packetNumber = 0;
        if (packet.Length < DataHeaderBytes + TagBytes || packet[0] is not ((byte)SessionPacketType.Data or (byte)SessionPacketType.DataPhase1))
        {
            return false;
        }

        keyPhase = packet[0] == (byte)SessionPacketType.Data ? 0 : 1;
        receiverIndex = BinaryPrimitives.ReadUInt32LittleEndian(packet[1..]);
        packetNumber = BinaryPrimitives.ReadUInt64LittleEndian(packet[5..]);
        return true;
    }
}
