using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace Overlay.Kademlia.Internal;

/// <summary>
/// The IP group of an address, for routing-table diversity limits: the /24 prefix of an IPv4 address or the /48
/// prefix of an IPv6 address (a site: RFC 6177 recommends /48 assignments per end site), with IPv4-mapped IPv6
/// addresses grouped as IPv4. <see cref="IsLocal"/> marks loopback, private and link-local ranges, which get their own
/// limits so that local swarms (many nodes on one address) still work.
/// </summary>
/// <param name="Prefix">The group's prefix, left-aligned in 128 bits (IPv4 prefixes in the top 24 bits, tagged apart from IPv6).</param>
/// <param name="IsLocal">Whether the address is loopback (127.0.0.0/8, ::1), private (RFC 1918, RFC 6598 shared space 100.64.0.0/10, RFC 4193 fc00::/7) or link-local (169.254.0.0/16, fe80::/10).</param>
internal readonly record struct IpGroup(UInt128 Prefix, bool IsLocal)
{
    /// <summary>Returns the group of <paramref name="address"/>.</summary>
    /// <param name="address">An IPv4 or IPv6 address.</param>
    /// <returns>The group.</returns>
    public static IpGroup Of(IPAddress address)
    {
        Span<byte> bytes = stackalloc byte[16];
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            address.TryWriteBytes(bytes, out _);
            var v4 = BinaryPrimitives.ReadUInt32BigEndian(bytes);

            // Tag bit 127 set: an IPv4 group can never equal an IPv6 one.
            return new IpGroup((UInt128.One << 127) | (v4 >> 8), IsLocalV4(v4));
        }

        address.TryWriteBytes(bytes, out _);
        var high = BinaryPrimitives.ReadUInt64BigEndian(bytes);
        return new IpGroup(new UInt128(high & 0xFFFF_FFFF_FFFF_0000UL, 0), IPAddress.IsLoopback(address) || IsLocalV6(high));
    }

    private static bool IsLocalV4(uint a) =>
        (a >> 24) == 127
        || (a >> 24) == 10
        || (a >> 20) == 0xAC1 // 172.16.0.0/12
        || (a >> 16) == 0xC0A8 // 192.168.0.0/16
        || (a >> 16) == 0xA9FE // 169.254.0.0/16
        || (a >> 22) == (100u << 2 | 1); // 100.64.0.0/10

    private static bool IsLocalV6(ulong high) =>
        (high >> 57) == 0x7E // fc00::/7
        || (high >> 54) == 0x3FA; // fe80::/10
}
