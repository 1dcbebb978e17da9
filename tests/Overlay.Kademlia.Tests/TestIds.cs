using System.Globalization;
using System.Net;
using System.Numerics;

namespace Overlay.Kademlia.Tests;

/// <summary>Helpers for building IDs and contacts and for reference (brute-force) arithmetic on the key space.</summary>
internal static class TestIds
{
    /// <summary>Returns <paramref name="id"/> as an unsigned big-endian integer.</summary>
    public static BigInteger ToBig(NodeId id) => new(id.ToArray(), isUnsigned: true, isBigEndian: true);

    /// <summary>Returns <paramref name="distance"/> as an unsigned integer, parsed from its hexadecimal text form.</summary>
    public static BigInteger ToBig(XorDistance distance) =>
        BigInteger.Parse("0" + distance.ToString(), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);

    /// <summary>Returns the common prefix length computed bit by bit (the reference for <see cref="NodeId.CommonPrefixLength"/>).</summary>
    public static int ReferenceCommonPrefix(NodeId a, NodeId b)
    {
        var x = a.ToArray();
        var y = b.ToArray();
        for (var bit = 0; bit < NodeId.Bits; bit++)
        {
            var mask = 0x80 >> (bit & 7);
            if ((x[bit >> 3] & mask) != (y[bit >> 3] & mask))
            {
                return bit;
            }
        }

        return NodeId.Bits;
    }

    /// <summary>Returns an ID sharing exactly <paramref name="prefix"/> leading bits with <paramref name="id"/> (256 = equal), built without the code under test.</summary>
    public static NodeId WithPrefix(NodeId id, int prefix, Random random)
    {
        var bytes = id.ToArray();
        if (prefix == NodeId.Bits)
        {
            return id;
        }

        var noise = new byte[NodeId.Length];
        random.NextBytes(noise);
        for (var bit = prefix; bit < NodeId.Bits; bit++)
        {
            var mask = (byte)(0x80 >> (bit & 7));
            var value = bit == prefix ? (~bytes[bit >> 3] & mask) : (noise[bit >> 3] & mask);
            bytes[bit >> 3] = (byte)((bytes[bit >> 3] & ~mask) | value);
        }

        return NodeId.FromBytes(bytes);
    }

    /// <summary>Returns a contact for <paramref name="id"/> on a documentation address (RFC 5737) derived from <paramref name="n"/>.</summary>
    public static NodeContact Contact(NodeId id, int n = 0) =>
        new(id, new IPEndPoint(new IPAddress(new byte[] { 198, 51, (byte)(n >> 8), (byte)n }), 4000 + (n % 1000)));

    /// <summary>Returns <paramref name="count"/> distinct seeded random IDs.</summary>
    public static List<NodeId> RandomIds(Random random, int count)
    {
        var ids = new HashSet<NodeId>();
        while (ids.Count < count)
        {
            ids.Add(NodeId.Random(random));
        }

        return [.. ids];
    }

    /// <summary>Returns the <paramref name="count"/> IDs closest to <paramref name="target"/> by brute force, ascending distance.</summary>
    public static List<NodeId> BruteForceClosest(IEnumerable<NodeId> ids, NodeId target, int count) =>
        ids.OrderBy(id => ToBig(id) ^ ToBig(target)).Take(count).ToList();
}
