using System.Buffers.Binary;

namespace Overlay.Bench.Udp;

/// <summary>
/// Reads the transaction id (field 2, fixed32) and the body field number (10..21) of an Envelope without building
/// it, so the load generator's cost per answer is the same for the node and for the echo baseline. Never throws.
/// </summary>
internal static class WireScanner
{
    /// <summary>Envelope body field numbers (kademlia.proto).</summary>
    public const int Ping = 10, Pong = 11, FindNode = 12, Nodes = 13;

    /// <summary>Scans the top-level fields of <paramref name="datagram"/>.</summary>
    /// <returns>False for anything that is not a well-formed envelope with a body.</returns>
    public static bool TryScan(ReadOnlySpan<byte> datagram, out uint transactionId, out int body)
    {
        transactionId = 0;
        body = 0;
        var i = 0;
        while (i < datagram.Length)
        {
            if (!TryVarint(datagram, ref i, out var tag))
            {
                return false;
            }

            var field = (int)(tag >> 3);
            switch (tag & 7)
            {
                case 0:
                    if (!TryVarint(datagram, ref i, out _))
                    {
                        return false;
                    }

                    break;
                case 1:
                    i += 8;
                    break;
                case 5:
                    if (i + 4 > datagram.Length)
                    {
                        return false;
                    }

                    if (field == 2)
                    {
                        transactionId = BinaryPrimitives.ReadUInt32LittleEndian(datagram[i..]);
                    }

                    i += 4;
                    break;
                case 2:
                    if (!TryVarint(datagram, ref i, out var length) || length > (ulong)(datagram.Length - i))
                    {
                        return false;
                    }

                    if (field >= 10)
                    {
                        body = field;
                    }

                    i += (int)length;
                    break;
                default:
                    return false;
            }
        }

        return i == datagram.Length && body != 0;
    }

    private static bool TryVarint(ReadOnlySpan<byte> data, ref int i, out ulong value)
    {
        value = 0;
        for (var shift = 0; shift < 64 && i < data.Length; shift += 7)
        {
            var b = data[i++];
            value |= (ulong)(b & 0x7f) << shift;
            if (b < 0x80)
            {
                return true;
            }
        }

        return false;
    }
}
