using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace Overlay.Kademlia.Internal;

/// <summary>
/// The key that per-source rate limits count under: the source IP address, or for loopback sources the IP address and
/// port, because every node of a local swarm shares 127.0.0.1 and one port is one node there. IPv4-mapped IPv6
/// addresses count as IPv4. Cheap to hash: no allocation.
/// </summary>
/// <param name="Address">The address, 128 bits (IPv4 in the low 32 bits with a tag bit).</param>
/// <param name="Port">The port for loopback sources, else 0.</param>
internal readonly record struct SourceKey(UInt128 Address, int Port)
{
    /// <summary>Returns the key of <paramref name="remote"/>.</summary>
    /// <param name="remote">The source endpoint of a datagram.</param>
    /// <returns>The key.</returns>
    public static SourceKey Of(IPEndPoint remote)
    {
        var address = remote.Address;
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        Span<byte> bytes = stackalloc byte[16];
        UInt128 value;
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            address.TryWriteBytes(bytes, out _);
            value = (UInt128.One << 127) | BinaryPrimitives.ReadUInt32BigEndian(bytes);
        }
        else
        {
            address.TryWriteBytes(bytes, out _);
            value = BinaryPrimitives.ReadUInt128BigEndian(bytes);
        }

        return new SourceKey(value, IPAddress.IsLoopback(address) ? remote.Port : 0);
    }
}
