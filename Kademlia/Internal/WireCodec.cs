using System.Net;
using System.Net.Sockets;
using Google.Protobuf;
using Overlay.Kademlia.Wire;

namespace Overlay.Kademlia.Internal;

/// <summary>
/// Conversions between wire messages and domain types. Decoding untrusted fields never throws: each Try method
/// rejects wrong lengths and ranges.
/// </summary>
internal static class WireCodec
{
    /// <summary>Current protocol version, carried in every envelope.</summary>
    public const uint ProtocolVersion = 1;

    /// <summary>The 3x rule's factor (RFC 9000 §8.1): an address that has not proven it receives gets at most 3 bytes per byte it sent.</summary>
    public const int AmplificationFactor = 3;

    /// <summary>
    /// The size a request without an address token is padded to, bytes: 411 = ⌈1232 / 3⌉, so that its answer, held
    /// to 3x the request, can still fill one datagram (<see cref="KademliaOptions.MaxDatagramBytes"/>).
    /// </summary>
    public const int PaddedRequestBytes = (KademliaOptions.MaxDatagramBytes + AmplificationFactor - 1) / AmplificationFactor;

    /// <summary>Zero bytes the padding field wraps (never written to).</summary>
    private static readonly byte[] Zeros = new byte[PaddedRequestBytes];

    /// <summary>
    /// Returns whether a request's full answer can exceed 3x the request (FIND_NODE, FIND_VALUE, GET_PROVIDERS carry
    /// contacts, records or providers), so that without an address token it is worth padding. A PING's answer, signed
    /// or not, and the status answers of STORE and ADD_PROVIDER fit within 3x their requests unpadded.
    /// </summary>
    /// <param name="request">The request's body type.</param>
    public static bool HasLargeAnswer(Envelope.BodyOneofCase request) =>
        request is Envelope.BodyOneofCase.FindNode or Envelope.BodyOneofCase.FindValue or Envelope.BodyOneofCase.GetProviders;

    /// <summary>Sets <paramref name="request"/>'s padding field so that it encodes to at least <see cref="PaddedRequestBytes"/> bytes (at most 2 more).</summary>
    /// <param name="request">A complete request (transaction id set, since it changes the size).</param>
    public static void Pad(Envelope request)
    {
        request.Padding = ByteString.Empty;
        var need = PaddedRequestBytes - request.CalculateSize();
        if (need <= 0)
        {
            return;
        }

        // The field costs a tag byte and a length prefix besides its content; take the smallest content that reaches need.
        var length = Math.Max(1, need - 3);
        while (1 + CodedOutputStream.ComputeLengthSize(length) + length < need)
        {
            length++;
        }

        request.Padding = UnsafeByteOperations.UnsafeWrap(Zeros.AsMemory(0, length));
    }

    public static ByteString ToBytes(NodeId id) => UnsafeByteOperations.UnsafeWrap(id.ToArray());

    public static Contact ToContact(NodeContact contact) => new()
    {
        Id = ToBytes(contact.Id),
        Ip = UnsafeByteOperations.UnsafeWrap(contact.EndPoint.Address.GetAddressBytes()),
        Port = (uint)contact.EndPoint.Port,
    };

    public static bool TryFromContact(Contact contact, out NodeContact result)
    {
        result = null!;
        if (!NodeId.TryFromBytes(contact.Id.Span, out var id) || !TryEndPoint(contact.Ip, contact.Port, out var endPoint))
        {
            return false;
        }

        result = new NodeContact(id, endPoint);
        return true;
    }

    public static bool TryEndPoint(ByteString ip, uint port, out IPEndPoint endPoint)
    {
        endPoint = null!;
        if ((ip.Length != 4 && ip.Length != 16) || port is 0 or > 65535)
        {
            return false;
        }

        // An IPv4-mapped IPv6 address is kept as IPv4, so one node has one address form (see Normalize).
        var address = new IPAddress(ip.Span);
        endPoint = new IPEndPoint(address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address, (int)port);
        return true;
    }

    public static List<NodeContact> FromContacts(IReadOnlyCollection<Contact> contacts)
    {
        var result = new List<NodeContact>(contacts.Count);
        foreach (var contact in contacts)
        {
            if (TryFromContact(contact, out var c))
            {
                result.Add(c);
            }
        }

        return result;
    }

    public static Record ToWire(DhtRecord record, DateTimeOffset now) => new()
    {
        Value = ByteString.CopyFrom(record.Value.Span),
        PublicKey = ByteString.CopyFrom(record.PublicKey.Span),
        Salt = ByteString.CopyFrom(record.Salt.Span),
        Sequence = (ulong)record.Sequence,
        Signature = ByteString.CopyFrom(record.Signature.Span),
        TtlSeconds = (uint)Math.Clamp(Math.Ceiling((record.Expires - now).TotalSeconds), 0, uint.MaxValue),
    };

    /// <summary>Rebuilds a record from the wire; its lifetime is the sender's TTL capped at <paramref name="maxTtl"/>.</summary>
    public static DhtRecord? FromWire(NodeId key, Record? record, DateTimeOffset now, TimeSpan maxTtl)
    {
        if (record is null || record.Sequence > long.MaxValue)
        {
            return null;
        }

        var ttl = TimeSpan.FromSeconds(record.TtlSeconds);
        if (ttl > maxTtl)
        {
            ttl = maxTtl;
        }

        return DhtRecord.FromParts(key, record.Value.ToByteArray(), record.PublicKey.ToByteArray(), record.Salt.ToByteArray(), (long)record.Sequence, record.Signature.ToByteArray(), now + ttl);
    }

    /// <summary>Maps an IPv4-mapped IPv6 address to IPv4 so one node has one address form.</summary>
    public static IPEndPoint Normalize(IPEndPoint endPoint) =>
        endPoint.AddressFamily == AddressFamily.InterNetworkV6 && endPoint.Address.IsIPv4MappedToIPv6
            ? new IPEndPoint(endPoint.Address.MapToIPv4(), endPoint.Port)
            : endPoint;
}
