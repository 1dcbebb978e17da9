using Overlay.Storage;

namespace Overlay.Node.Content;

/// <summary>
/// Reads the file size from a dag-pb UnixFS root without walking the DAG. Only the fields needed are decoded:
/// PBNode.Data (field 1, bytes; dag-pb spec) and, inside it, UnixFS Data.Type (1), Data (2), filesize (3) and
/// blocksizes (4, packed or not) per https://github.com/ipfs/specs/blob/main/UNIXFS.md. Other fields are skipped.
/// Untrusted input: every defect is an <see cref="InvalidDataException"/>, never an out-of-range read.
/// </summary>
internal static class UnixFsFileSize
{
    private const int WireVarint = 0;
    private const int WireFixed64 = 1;
    private const int WireLengthDelimited = 2;
    private const int WireFixed32 = 5;
    private const ulong TypeRaw = 0;
    private const ulong TypeFile = 2;

    /// <summary>Returns the file size declared by a dag-pb UnixFS node.</summary>
    /// <param name="cid">The block's CID (dag-pb), for messages.</param>
    /// <param name="block">The block bytes.</param>
    /// <returns>The <c>filesize</c> field, or inline data length plus the sum of <c>blocksizes</c> when it is absent.</returns>
    /// <exception cref="InvalidDataException">The block is not dag-pb, is truncated or malformed, has no UnixFS Data, is not of type File or Raw, or the size exceeds <see cref="long.MaxValue"/>.</exception>
    public static long Read(Cid cid, ReadOnlySpan<byte> block)
    {
        ArgumentNullException.ThrowIfNull(cid);
        if (cid.Codec != Cid.DagPbCodec)
        {
            throw new InvalidDataException($"block {cid} has codec 0x{cid.Codec:x}; a UnixFS node is dag-pb (0x70)");
        }

        ReadOnlySpan<byte> data = default;
        var hasData = false;
        var position = 0;
        while (position < block.Length)
        {
            var (field, wire) = ReadTag(cid, block, ref position);
            if (field == 1 && wire == WireLengthDelimited)
            {
                data = ReadBytes(cid, block, ref position);
                hasData = true;
            }
            else
            {
                Skip(cid, block, ref position, wire);
            }
        }

        if (!hasData)
        {
            throw new InvalidDataException($"block {cid} has no UnixFS Data");
        }

        ulong? type = null;
        ulong? fileSize = null;
        ulong inline = 0;
        ulong sum = 0;
        position = 0;
        while (position < data.Length)
        {
            var (field, wire) = ReadTag(cid, data, ref position);
            switch (field)
            {
                case 1 when wire == WireVarint:
                    type = ReadVarint(cid, data, ref position);
                    break;
                case 2 when wire == WireLengthDelimited:
                    inline = (ulong)ReadBytes(cid, data, ref position).Length;
                    break;
                case 3 when wire == WireVarint:
                    fileSize = ReadVarint(cid, data, ref position);
                    break;
                case 4 when wire == WireVarint:
                    sum = Add(cid, sum, ReadVarint(cid, data, ref position));
                    break;
                case 4 when wire == WireLengthDelimited:
                    var packed = ReadBytes(cid, data, ref position);
                    var inner = 0;
                    while (inner < packed.Length)
                    {
                        sum = Add(cid, sum, ReadVarint(cid, packed, ref inner));
                    }

                    break;
                default:
                    Skip(cid, data, ref position, wire);
                    break;
            }
        }

        if (type is not (TypeFile or TypeRaw))
        {
            throw new InvalidDataException($"block {cid} has UnixFS type {(type?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "(none)")}; only File (2) and Raw (0) are files");
        }

        var size = fileSize ?? Add(cid, inline, sum);
        if (size > long.MaxValue)
        {
            throw new InvalidDataException($"block {cid} declares a file size of {size} bytes, more than a file can hold");
        }

        return (long)size;
    }

    private static ulong Add(Cid cid, ulong a, ulong b)
    {
        var sum = a + b;
        if (sum < a)
        {
            throw new InvalidDataException($"block {cid} sizes overflow 64 bits");
        }

        return sum;
    }

    private static (int Field, int Wire) ReadTag(Cid cid, ReadOnlySpan<byte> span, scoped ref int position)
    {
        var tag = ReadVarint(cid, span, ref position);
        var field = tag >> 3;
        if (field is 0 or > int.MaxValue)
        {
            throw new InvalidDataException($"block {cid} has an invalid protobuf field number {field}");
        }

        return ((int)field, (int)(tag & 7));
    }

    private static ulong ReadVarint(Cid cid, ReadOnlySpan<byte> span, scoped ref int position)
    {
        ulong value = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            if (position >= span.Length)
            {
                throw new InvalidDataException($"block {cid} ends inside a varint");
            }

            var b = span[position++];
            value |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
            {
                return value;
            }
        }

        throw new InvalidDataException($"block {cid} has a varint longer than 10 bytes");
    }

    private static ReadOnlySpan<byte> ReadBytes(Cid cid, ReadOnlySpan<byte> span, scoped ref int position)
    {
        var length = ReadVarint(cid, span, ref position);
        if (length > (ulong)(span.Length - position))
        {
            throw new InvalidDataException($"block {cid} has a field of {length} bytes past its end");
        }

        var result = span.Slice(position, (int)length);
        position += (int)length;
        return result;
    }

    private static void Skip(Cid cid, ReadOnlySpan<byte> span, scoped ref int position, int wire)
    {
        switch (wire)
        {
            case WireVarint:
                ReadVarint(cid, span, ref position);
                break;
            case WireLengthDelimited:
                ReadBytes(cid, span, ref position);
                break;
            case WireFixed64 or WireFixed32:
                var size = wire == WireFixed64 ? 8 : 4;
                if (span.Length - position < size)
                {
                    throw new InvalidDataException($"block {cid} ends inside a fixed-size field");
                }

                position += size;
                break;
            default:
                throw new InvalidDataException($"block {cid} has unsupported protobuf wire type {wire}");
        }
    }
}
