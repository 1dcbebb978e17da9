using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace Overlay.Exchange.Internal;

/// <summary>
/// The unit <see cref="ExchangeOptions.MaxConnectionsPerIp"/> counts in: one IPv4 address, or one IPv6 /64 prefix.
/// An IPv4-mapped IPv6 address (<c>::ffff:a.b.c.d</c>, what a dual-stack listener reports for IPv4 peers) is its IPv4
/// address.
/// </summary>
/// <remarks>
/// IPv6 is grouped by /64 because that is the smallest prefix a subscriber is given (RFC 6177; SLAAC needs a /64), so
/// one host can use 2^64 addresses: counting single IPv6 addresses would not limit it at all. Immutable value.
/// </remarks>
/// <param name="IsIPv6">Whether the group is an IPv6 /64 prefix (else one IPv4 address).</param>
/// <param name="Prefix">The IPv4 address (big-endian value, upper 32 bits zero) or the first 64 bits of the IPv6 address.</param>
internal readonly record struct AddressGroup(bool IsIPv6, ulong Prefix)
{
    /// <summary>Returns the group of <paramref name="address"/>.</summary>
    /// <param name="address">An IPv4 or IPv6 address.</param>
    /// <returns>The IPv4 address (mapped ones unmapped), or the IPv6 /64 prefix.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="address"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="address"/> is of another family.</exception>
    public static AddressGroup Of(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        Span<byte> bytes = stackalloc byte[16];
        if (!address.TryWriteBytes(bytes, out int written))
        {
            throw new ArgumentException($"cannot read address {address}", nameof(address));
        }

        return address.AddressFamily switch
        {
            AddressFamily.InterNetwork => new AddressGroup(false, BinaryPrimitives.ReadUInt32BigEndian(bytes)),
            AddressFamily.InterNetworkV6 when written == 16 => new AddressGroup(true, BinaryPrimitives.ReadUInt64BigEndian(bytes)),
            _ => throw new ArgumentException($"address family {address.AddressFamily} is not IPv4 or IPv6", nameof(address)),
        };
    }

    /// <summary>Returns "a.b.c.d" for IPv4, "xxxx:xxxx:xxxx:xxxx::/64" for IPv6.</summary>
    /// <returns>The text form.</returns>
    public override string ToString()
    {
        if (!IsIPv6)
        {
            Span<byte> v4 = stackalloc byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(v4, (uint)Prefix);
            return new IPAddress(v4).ToString();
        }

        Span<byte> v6 = stackalloc byte[16];
        BinaryPrimitives.WriteUInt64BigEndian(v6, Prefix);
        return $"{new IPAddress(v6)}/64";
    }
}
