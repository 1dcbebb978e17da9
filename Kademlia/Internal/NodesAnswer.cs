using System.Buffers.Binary;
using Google.Protobuf;

namespace Overlay.Kademlia.Internal;

/// <summary>
/// Writes the answer to FIND_NODE (an <c>Envelope</c> whose body is <c>NodesResponse</c>, kademlia.proto) straight
/// into a datagram buffer from each contact's encoding cached in its <see cref="RoutingEntry"/>. The bytes equal what
/// Google.Protobuf writes for the same message (fields in number order, proto3 defaults omitted), which
/// NodesAnswerTests checks over seeded random answers; receivers decode it with the generated parser as any other
/// envelope. Measured reason (Bench/RESULTS.md): encoding 20 contacts through the generated code, which computes each
/// nested size twice, was 40 % of a node's CPU per FIND_NODE answer under load.
/// </summary>
internal static class NodesAnswer
{
    private const byte VersionTag = (1 << 3) | 0;        // uint32 version = 1
    private const byte TransactionTag = (2 << 3) | 5;    // fixed32 transaction_id = 2
    private const byte SenderTag = (3 << 3) | 2;         // bytes sender_id = 3
    private const byte AddressTokenTag = (4 << 3) | 2;   // bytes address_token = 4
    private const byte NodesTag = (13 << 3) | 2;         // NodesResponse nodes = 13
    private const byte CloserTag = (1 << 3) | 2;         // repeated Contact closer = 1
    private const byte TokenTag = (2 << 3) | 2;          // bytes token = 2

    /// <summary>
    /// Writes the answer; when it would not fit <paramref name="destination"/>, the farthest contacts are left out
    /// (as <c>FitToLimit</c> does for other answers): the buffer's length is the limit, one datagram or 3x the request.
    /// </summary>
    /// <param name="destination">The datagram buffer: <see cref="KademliaOptions.MaxDatagramBytes"/> (1232) bytes, or fewer under the 3x rule.</param>
    /// <param name="transactionId">The request's transaction id.</param>
    /// <param name="senderId">This node's 32-byte ID.</param>
    /// <param name="addressToken">The 8-byte address token for the requester's address, or empty for none.</param>
    /// <param name="closer">Contacts by ascending XOR distance to the target.</param>
    /// <param name="token">The 8-byte write token, or empty when none was asked for.</param>
    /// <param name="written">Receives how many of <paramref name="closer"/> (the nearest) were written.</param>
    /// <returns>The encoded length, bytes.</returns>
    /// <exception cref="ArgumentException">Even with no contacts the answer exceeds <paramref name="destination"/>.</exception>
    public static int Write(Span<byte> destination, uint transactionId, ReadOnlySpan<byte> senderId, ReadOnlySpan<byte> addressToken, List<RoutingEntry> closer, ReadOnlySpan<byte> token, out int written)
    {
        var header = 2 + (transactionId != 0 ? 5 : 0) + (senderId.IsEmpty ? 0 : FieldLength(senderId.Length))
            + (addressToken.IsEmpty ? 0 : FieldLength(addressToken.Length));
        var tokenField = token.IsEmpty ? 0 : FieldLength(token.Length);
        var count = closer.Count;
        var body = tokenField;
        for (var i = 0; i < count; i++)
        {
            body += FieldLength(closer[i].Encoded.Length);
        }

        while (count > 0 && header + 1 + CodedOutputStream.ComputeLengthSize(body) + body > destination.Length)
        {
            count--;
            body -= FieldLength(closer[count].Encoded.Length);
        }

        var total = header + 1 + CodedOutputStream.ComputeLengthSize(body) + body;
        if (total > destination.Length)
        {
            throw new ArgumentException($"A FIND_NODE answer without contacts takes {total} bytes; the buffer holds {destination.Length}.", nameof(destination));
        }

        var at = 0;
        destination[at++] = VersionTag;
        destination[at++] = (byte)WireCodec.ProtocolVersion;
        if (transactionId != 0)
        {
            destination[at++] = TransactionTag;
            BinaryPrimitives.WriteUInt32LittleEndian(destination[at..], transactionId);
            at += 4;
        }

        if (!senderId.IsEmpty)
        {
            at = WriteBytesField(destination, at, SenderTag, senderId);
        }

        if (!addressToken.IsEmpty)
        {
            at = WriteBytesField(destination, at, AddressTokenTag, addressToken);
        }

        destination[at++] = NodesTag;
        at = WriteVarint(destination, at, (uint)body);
        for (var i = 0; i < count; i++)
        {
            at = WriteBytesField(destination, at, CloserTag, closer[i].Encoded);
        }

        if (!token.IsEmpty)
        {
            at = WriteBytesField(destination, at, TokenTag, token);
        }

        written = count;
        return at;
    }

    private static int FieldLength(int length) => 1 + CodedOutputStream.ComputeLengthSize(length) + length;

    private static int WriteBytesField(Span<byte> destination, int at, byte tag, ReadOnlySpan<byte> value)
    {
        destination[at++] = tag;
        at = WriteVarint(destination, at, (uint)value.Length);
        value.CopyTo(destination[at..]);
        return at + value.Length;
    }

    private static int WriteVarint(Span<byte> destination, int at, uint value)
    {
        while (value >= 0x80)
        {
            destination[at++] = (byte)(value | 0x80);
            value >>= 7;
        }

        destination[at++] = (byte)value;
        return at;
    }
}
