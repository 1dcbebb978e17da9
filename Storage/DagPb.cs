using Overlay.Storage.Internal;

namespace Overlay.Storage;

/// <summary>Reads the structure of dag-pb blocks (https://ipld.io/specs/codecs/dag-pb/spec/).</summary>
public static class DagPb
{
    /// <summary>
    /// Returns the children of a block, in link order. Raw blocks (<see cref="Cid.RawCodec"/>) have none. The block's
    /// hash is not verified here; callers verify with <see cref="Cid.Matches"/> first.
    /// </summary>
    /// <param name="cid">The block's CID; its codec selects the decoder.</param>
    /// <param name="block">The block bytes.</param>
    /// <returns>The link hashes of a dag-pb node in order (duplicates kept); empty for raw blocks.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="cid"/> is null.</exception>
    /// <exception cref="InvalidDataException">The block is not a valid dag-pb node (the message names the CID and the
    /// defect), a link is not a supported CID, or the codec is neither raw nor dag-pb.</exception>
    public static IReadOnlyList<Cid> GetLinks(Cid cid, ReadOnlySpan<byte> block)
    {
        ArgumentNullException.ThrowIfNull(cid);
        if (cid.Codec == Cid.RawCodec)
        {
            return [];
        }

        var node = Decode(cid, block);
        var result = new Cid[node.Links.Count];
        for (int i = 0; i < result.Length; i++)
        {
            result[i] = node.Links[i].Hash;
        }

        return result;
    }

    /// <summary>Decodes a dag-pb block or throws <see cref="InvalidDataException"/> naming the CID.</summary>
    internal static PbNode Decode(Cid cid, ReadOnlySpan<byte> block)
    {
        if (cid.Codec != Cid.DagPbCodec)
        {
            throw new InvalidDataException($"block {cid} has codec 0x{cid.Codec:x}; only raw (0x55) and dag-pb (0x70) are supported");
        }

        if (!DagPbCodec.TryDecodeNode(block, out var node, out var error))
        {
            throw new InvalidDataException($"block {cid} is not valid dag-pb: {error}");
        }

        return node!;
    }
}
