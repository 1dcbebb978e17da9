using System.Text;

namespace Overlay.Storage.Internal;

/// <summary>One PBLink of a dag-pb node.</summary>
internal readonly record struct PbLink(Cid Hash, string? Name, ulong? Tsize);

/// <summary>A decoded dag-pb PBNode: links in order and optional data.</summary>
internal sealed record PbNode(IReadOnlyList<PbLink> Links, byte[]? Data);

/// <summary>A decoded UnixFS Data message (UnixFS spec, unixfs.proto).</summary>
internal sealed record UnixFsData(ulong Type, byte[]? Data, ulong? FileSize, IReadOnlyList<ulong> BlockSizes);

/// <summary>
/// Byte-exact dag-pb (https://ipld.io/specs/codecs/dag-pb/spec/) and UnixFS Data
/// (https://github.com/ipfs/specs/blob/main/UNIXFS.md) encoding and strict decoding.
/// </summary>
/// <remarks>
/// Encoding follows the canonical form produced by go-codec-dagpb and @ipld/dag-pb: PBNode Links (field 2) are
/// written before Data (field 1); each PBLink writes Hash (1), Name (2, written even when empty, as the JS and Go
/// UnixFS importers do) and Tsize (3). UnixFS Data writes Type (1), filesize (3) and each blocksize (4) unpacked.
/// </remarks>
internal static class DagPbCodec
{
    /// <summary>UnixFS DataType Raw.</summary>
    public const ulong TypeRaw = 0;

    /// <summary>UnixFS DataType File.</summary>
    public const ulong TypeFile = 2;

    private static readonly UTF8Encoding StrictUtf8 = new(false, true);

    /// <summary>Encodes a UnixFS File node with no inline data: links with Name "" and Tsize, then Data.</summary>
    public static byte[] EncodeFileNode(IReadOnlyList<(Cid Cid, ulong Tsize)> links, IReadOnlyList<ulong> blockSizes, ulong fileSize)
    {
        var unixfs = new List<byte>(8 + (blockSizes.Count * 6));
        unixfs.Add(0x08);
        Varint.Write(unixfs, TypeFile);
        unixfs.Add(0x18);
        Varint.Write(unixfs, fileSize);
        foreach (ulong size in blockSizes)
        {
            unixfs.Add(0x20);
            Varint.Write(unixfs, size);
        }

        var node = new List<byte>((links.Count * 48) + unixfs.Count + 4);
        var link = new List<byte>(48);
        foreach (var (cid, tsize) in links)
        {
            link.Clear();
            var hash = cid.AsSpan();
            link.Add(0x0A);
            Varint.Write(link, (ulong)hash.Length);
            foreach (byte b in hash)
            {
                link.Add(b);
            }

            link.Add(0x12);
            link.Add(0x00);
            link.Add(0x18);
            Varint.Write(link, tsize);

            node.Add(0x12);
            Varint.Write(node, (ulong)link.Count);
            node.AddRange(link);
        }

        node.Add(0x0A);
        Varint.Write(node, (ulong)unixfs.Count);
        node.AddRange(unixfs);
        return node.ToArray();
    }

    /// <summary>Decodes a PBNode strictly per the dag-pb spec; returns false with a reason on any deviation.</summary>
    public static bool TryDecodeNode(ReadOnlySpan<byte> block, out PbNode? node, out string? error)
    {
        node = null;
        var links = new List<PbLink>();
        byte[]? data = null;
        var reader = new ProtoReader(block);
        while (!reader.End)
        {
            int at = reader.Position;
            if (!reader.TryReadTag(out int field, out int wireType))
            {
                error = $"bad field key at offset {at}";
                return false;
            }

            if (wireType != 2)
            {
                error = $"field {field} at offset {at} has wire type {wireType}, expected 2 (length-delimited)";
                return false;
            }

            if (!reader.TryReadBytes(out var payload))
            {
                error = $"field {field} at offset {at} has a bad or overlong length";
                return false;
            }

            if (field == 2)
            {
                if (data is not null)
                {
                    error = $"link at offset {at} follows Data (dag-pb requires Links before Data)";
                    return false;
                }

                if (!TryDecodeLink(payload, out var link, out var linkError))
                {
                    error = $"link {links.Count} at offset {at}: {linkError}";
                    return false;
                }

                links.Add(link);
            }
            else if (field == 1)
            {
                if (data is not null)
                {
                    error = $"duplicate Data field at offset {at}";
                    return false;
                }

                data = payload.ToArray();
            }
            else
            {
                error = $"unknown field {field} at offset {at} (dag-pb allows only Data=1 and Links=2)";
                return false;
            }
        }

        node = new PbNode(links, data);
        error = null;
        return true;
    }

    /// <summary>Decodes a UnixFS Data message; unknown fields are skipped as protobuf allows.</summary>
    public static bool TryDecodeUnixFs(ReadOnlySpan<byte> bytes, out UnixFsData? result, out string? error)
    {
        result = null;
        ulong? type = null;
        byte[]? data = null;
        ulong? fileSize = null;
        var blockSizes = new List<ulong>();
        var reader = new ProtoReader(bytes);
        while (!reader.End)
        {
            int at = reader.Position;
            if (!reader.TryReadTag(out int field, out int wireType))
            {
                error = $"bad UnixFS field key at offset {at}";
                return false;
            }

            bool ok;
            switch (field, wireType)
            {
                case (1, 0):
                    ok = reader.TryReadVarint(out ulong t);
                    type = t;
                    break;
                case (2, 2):
                    ok = reader.TryReadBytes(out var d);
                    data = ok ? d.ToArray() : null;
                    break;
                case (3, 0):
                    ok = reader.TryReadVarint(out ulong fs);
                    fileSize = fs;
                    break;
                case (4, 0):
                    ok = reader.TryReadVarint(out ulong bs);
                    blockSizes.Add(bs);
                    break;
                case (4, 2):
                    ok = reader.TryReadBytes(out var packed);
                    if (ok)
                    {
                        var inner = new ProtoReader(packed);
                        while (ok && !inner.End)
                        {
                            ok = inner.TryReadVarint(out ulong p);
                            blockSizes.Add(p);
                        }
                    }

                    break;
                case (1 or 2 or 3 or 4, _):
                    error = $"UnixFS field {field} at offset {at} has wrong wire type {wireType}";
                    return false;
                default:
                    ok = reader.TrySkip(wireType);
                    break;
            }

            if (!ok)
            {
                error = $"UnixFS field {field} at offset {at} is truncated or malformed";
                return false;
            }
        }

        if (type is null)
        {
            error = "UnixFS Data has no Type";
            return false;
        }

        result = new UnixFsData(type.Value, data, fileSize, blockSizes);
        error = null;
        return true;
    }

    private static bool TryDecodeLink(ReadOnlySpan<byte> bytes, out PbLink link, out string? error)
    {
        link = default;
        Cid? hash = null;
        string? name = null;
        ulong? tsize = null;
        int lastField = 0;
        var reader = new ProtoReader(bytes);
        while (!reader.End)
        {
            if (!reader.TryReadTag(out int field, out int wireType))
            {
                error = "bad field key";
                return false;
            }

            if (field <= lastField)
            {
                error = field == lastField ? $"duplicate field {field}" : $"field {field} out of order (dag-pb requires Hash, Name, Tsize)";
                return false;
            }

            lastField = field;
            switch (field, wireType)
            {
                case (1, 2):
                    if (!reader.TryReadBytes(out var h))
                    {
                        error = "Hash is truncated";
                        return false;
                    }

                    if (!Cid.TryFromBytes(h, out hash))
                    {
                        error = "Hash is not a supported CID (CIDv1, sha2-256)";
                        return false;
                    }

                    break;
                case (2, 2):
                    if (!reader.TryReadBytes(out var n))
                    {
                        error = "Name is truncated";
                        return false;
                    }

                    try
                    {
                        name = StrictUtf8.GetString(n);
                    }
                    catch (DecoderFallbackException)
                    {
                        error = "Name is not valid UTF-8";
                        return false;
                    }

                    break;
                case (3, 0):
                    if (!reader.TryReadVarint(out ulong ts) || ts > long.MaxValue)
                    {
                        error = "Tsize is malformed or above 2^63-1";
                        return false;
                    }

                    tsize = ts;
                    break;
                default:
                    error = $"unexpected field {field} with wire type {wireType} (PBLink allows Hash=1, Name=2, Tsize=3)";
                    return false;
            }
        }

        if (hash is null)
        {
            error = "Hash is missing";
            return false;
        }

        link = new PbLink(hash, name, tsize);
        error = null;
        return true;
    }
}
