using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace Overlay.Kademlia.Internal;

/// <summary>
/// An endpoint as a value, for dictionaries that should neither allocate per lookup nor hold <see cref="IPEndPoint"/>
/// objects: the 128 address bits (IPv4 in the low 32 bits, tagged by the top bit) in two halves and the port, 24 bytes
/// (a <see cref="UInt128"/> field would align it to 32, and every cache of the node holds hundreds of them). Unlike
/// <see cref="SourceKey"/>, the port always counts: tokens are bound to the IP address and the port.
/// </summary>
/// <param name="High">The upper 64 address bits.</param>
/// <param name="Low">The lower 64 address bits.</param>
/// <param name="Port">The port, 0..65535.</param>
internal readonly record struct EndPointKey(ulong High, ulong Low, int Port)
{
    /// <summary>Returns the key of <paramref name="endPoint"/> (normalize IPv4-mapped addresses first: they key apart from IPv4).</summary>
    /// <param name="endPoint">The endpoint.</param>
    /// <returns>The key.</returns>
    public static EndPointKey Of(IPEndPoint endPoint)
    {
        Span<byte> bytes = stackalloc byte[16];
        endPoint.Address.TryWriteBytes(bytes, out _);
        return endPoint.AddressFamily == AddressFamily.InterNetwork
            ? new EndPointKey(1UL << 63, BinaryPrimitives.ReadUInt32BigEndian(bytes), endPoint.Port)
            : new EndPointKey(BinaryPrimitives.ReadUInt64BigEndian(bytes), BinaryPrimitives.ReadUInt64BigEndian(bytes[8..]), endPoint.Port);
    }
}
