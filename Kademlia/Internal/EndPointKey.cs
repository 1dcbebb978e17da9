using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace Overlay.Kademlia.Internal;

/// <summary>
/// An endpoint as a value, for dictionaries that should neither allocate per lookup nor hold <see cref="IPEndPoint"/>
/// objects: 128 address bits (IPv4 in the low 32 bits, tagged by the top bit) and the port. Unlike
/// <see cref="SourceKey"/>, the port always counts: tokens are bound to the IP address and the port.
/// </summary>
/// <param name="Address">The address bits.</param>
/// <param name="Port">The port, 0..65535.</param>
internal readonly record struct EndPointKey(UInt128 Address, int Port)
{
    /// <summary>Returns the key of <paramref name="endPoint"/> (normalize IPv4-mapped addresses first: they key apart from IPv4).</summary>
    /// <param name="endPoint">The endpoint.</param>
    /// <returns>The key.</returns>
    public static EndPointKey Of(IPEndPoint endPoint)
    {
        Span<byte> bytes = stackalloc byte[16];
        endPoint.Address.TryWriteBytes(bytes, out _);
        var address = endPoint.AddressFamily == AddressFamily.InterNetwork
            ? (UInt128.One << 127) | BinaryPrimitives.ReadUInt32BigEndian(bytes)
            : BinaryPrimitives.ReadUInt128BigEndian(bytes);
        return new EndPointKey(address, endPoint.Port);
    }
}
