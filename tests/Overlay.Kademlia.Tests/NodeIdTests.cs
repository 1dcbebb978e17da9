using System.Numerics;
using System.Security.Cryptography;

namespace Overlay.Kademlia.Tests;

/// <summary>NodeId text and byte forms, and the XOR metric (paper §2.1) checked against BigInteger arithmetic.</summary>
public sealed class NodeIdTests
{
    private const int Seed = 20250101;

    [Fact]
    public void TextForm_RoundTrips_AndIsLowercaseHex()
    {
        var random = new Random(Seed);
        for (var i = 0; i < 1000; i++)
        {
            var id = NodeId.Random(random);
            var text = id.ToString();
            Assert.Equal(64, text.Length);
            Assert.Equal(Convert.ToHexStringLower(id.ToArray()), text);
            Assert.Equal(id, NodeId.Parse(text));
            Assert.Equal(id, NodeId.Parse(text.ToUpperInvariant()));
            Assert.True(NodeId.TryParse(text, out var parsed));
            Assert.Equal(id, parsed);
            Assert.Equal(text[..8], id.ToShortString());
        }
    }

    [Fact]
    public void ByteForm_RoundTrips_MostSignificantByteFirst()
    {
        var bytes = new byte[NodeId.Length];
        bytes[0] = 0x80;
        bytes[31] = 0x01;
        var id = NodeId.FromBytes(bytes);
        Assert.Equal("80000000000000000000000000000000000000000000000000000000000000" + "01", id.ToString());
        Assert.Equal(bytes, id.ToArray());
        Assert.True(NodeId.TryFromBytes(bytes, out var again));
        Assert.Equal(id, again);

        var destination = new byte[40];
        id.WriteTo(destination);
        Assert.Equal(bytes, destination[..32]);
        Assert.Throws<ArgumentException>(() => id.WriteTo(new byte[31]));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(31)]
    [InlineData(33)]
    [InlineData(64)]
    public void ByteForm_WrongLength_Rejected(int length)
    {
        var bytes = new byte[length];
        Assert.False(NodeId.TryFromBytes(bytes, out var id));
        Assert.Equal(default, id);
        Assert.Throws<ArgumentException>(() => NodeId.FromBytes(bytes));
    }

    public static TheoryData<string?> BadTexts() => new()
    {
        null,
        "",
        new string('a', 63),
        new string('a', 65),
        new string('a', 128),
        new string('a', 63) + "g",
        "0x" + new string('a', 62),
        " " + new string('a', 63),
        new string('a', 63) + " ",
        new string('a', 31) + "-" + new string('a', 32),
        new string('\u0660', 64),
        new string('a', 62) + "\u00e9a",
    };

    [Theory]
    [MemberData(nameof(BadTexts))]
    public void BadText_Rejected(string? text)
    {
        Assert.False(NodeId.TryParse(text, out var id));
        Assert.Equal(default, id);
        Assert.Throws<FormatException>(() => NodeId.Parse(text!));
    }

    [Fact]
    public void HashOf_IsSha256()
    {
        var data = "overlay"u8.ToArray();
        Assert.Equal(SHA256.HashData(data), NodeId.HashOf(data).ToArray());
        Assert.Equal("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", NodeId.HashOf([]).ToString());
    }

    [Fact]
    public void XorMetric_Properties_OverSeededRandomTriples()
    {
        var random = new Random(Seed);
        for (var i = 0; i < 1000; i++)
        {
            var x = NodeId.Random(random);
            var y = NodeId.Random(random);
            var z = NodeId.Random(random);
            var dxy = TestIds.ToBig(x.DistanceTo(y));
            var dyz = TestIds.ToBig(y.DistanceTo(z));
            var dxz = TestIds.ToBig(x.DistanceTo(z));

            // d(x, x) = 0, and only then.
            Assert.True(x.DistanceTo(x).IsZero);
            Assert.False(x.DistanceTo(y).IsZero);

            // Value: d(x, y) is the integer x XOR y.
            Assert.Equal(TestIds.ToBig(x) ^ TestIds.ToBig(y), dxy);

            // Symmetry.
            Assert.Equal(x.DistanceTo(y), y.DistanceTo(x));

            // d(x, y) ⊕ d(y, z) = d(x, z), hence the triangle inequality d(x, z) ≤ d(x, y) + d(y, z).
            Assert.Equal(dxz, dxy ^ dyz);
            Assert.True(dxz <= dxy + dyz, $"triangle inequality failed at triple {i}");

            // Unidirectionality: from x, each distance is reached by exactly one point.
            Assert.NotEqual(x.DistanceTo(y), x.DistanceTo(z));

            // Ordering of distances is integer ordering.
            Assert.Equal(Math.Sign(dxy.CompareTo(dxz)), Math.Sign(x.DistanceTo(y).CompareTo(x.DistanceTo(z))));
            Assert.Equal(dxy < dxz, x.DistanceTo(y) < x.DistanceTo(z));
            Assert.Equal(dxy >= dxz, x.DistanceTo(y) >= x.DistanceTo(z));
        }
    }

    [Fact]
    public void Unidirectionality_NearbyPointsAtEveryPrefix()
    {
        // Random triples almost never share long prefixes; build points that do, at every prefix length.
        var random = new Random(Seed + 1);
        var x = NodeId.Random(random);
        var seen = new HashSet<XorDistance>();
        for (var prefix = 0; prefix <= NodeId.Bits; prefix++)
        {
            var y = TestIds.WithPrefix(x, prefix, random);
            Assert.True(seen.Add(x.DistanceTo(y)), $"two points at one distance from x (prefix {prefix})");
            Assert.Equal(TestIds.ToBig(x) ^ TestIds.ToBig(y), TestIds.ToBig(x.DistanceTo(y)));
        }
    }

    [Fact]
    public void CommonPrefixLength_MatchesBitByBitReference()
    {
        var random = new Random(Seed + 2);
        for (var i = 0; i < 300; i++)
        {
            var x = NodeId.Random(random);
            var y = NodeId.Random(random);
            Assert.Equal(TestIds.ReferenceCommonPrefix(x, y), x.CommonPrefixLength(y));
        }

        for (var prefix = 0; prefix <= NodeId.Bits; prefix++)
        {
            for (var i = 0; i < 4; i++)
            {
                var x = NodeId.Random(random);
                var y = TestIds.WithPrefix(x, prefix, random);
                Assert.Equal(prefix, TestIds.ReferenceCommonPrefix(x, y));
                Assert.Equal(prefix, x.CommonPrefixLength(y));
                Assert.Equal(prefix, y.CommonPrefixLength(x));
                Assert.Equal(prefix, x.DistanceTo(y).LeadingZeroCount);
            }
        }
    }

    [Fact]
    public void RandomInBucket_LandsInTheAskedBucket_ForEveryIndex()
    {
        var random = new Random(Seed + 3);
        var self = NodeId.Random(random);
        for (var index = 0; index < NodeId.Bits; index++)
        {
            var a = self.RandomInBucket(index, random);
            var b = self.RandomInBucket(index, random);
            Assert.Equal(index, TestIds.ReferenceCommonPrefix(self, a));
            Assert.Equal(index, self.CommonPrefixLength(b));

            // The trailing bits are random: two draws differ unless too few bits are left to tell them apart.
            if (index < NodeId.Bits - 16)
            {
                Assert.NotEqual(a, b);
            }
        }

        Assert.Throws<ArgumentOutOfRangeException>(() => self.RandomInBucket(-1, random));
        Assert.Throws<ArgumentOutOfRangeException>(() => self.RandomInBucket(NodeId.Bits, random));
    }

    [Fact]
    public void CompareTo_MatchesBigIntegerOrdering()
    {
        var random = new Random(Seed + 4);
        var ids = new List<NodeId>();
        for (var i = 0; i < 500; i++)
        {
            var id = NodeId.Random(random);
            ids.Add(id);

            // Variants that differ in one byte only, so the lower 64-bit words decide the order too.
            var bytes = id.ToArray();
            bytes[random.Next(NodeId.Length)] ^= (byte)random.Next(1, 256);
            ids.Add(NodeId.FromBytes(bytes));
        }

        ids.Add(NodeId.FromBytes(new byte[32]));
        ids.Add(NodeId.Parse(new string('f', 64)));
        ids.Add(ids[0]);

        for (var i = 0; i + 1 < ids.Count; i++)
        {
            var a = ids[i];
            var b = ids[i + 1];
            Assert.Equal(Math.Sign(TestIds.ToBig(a).CompareTo(TestIds.ToBig(b))), Math.Sign(a.CompareTo(b)));
            Assert.Equal(a == b, a.CompareTo(b) == 0);
        }

        var sorted = ids.OrderBy(id => id).ToList();
        var reference = ids.OrderBy(TestIds.ToBig).ToList();
        Assert.Equal(reference, sorted);
        Assert.Equal(BigInteger.Zero, TestIds.ToBig(sorted[0]));
    }

    [Fact]
    public void XorDistance_ToString_IsHexOfTheXor()
    {
        var random = new Random(Seed + 5);
        var x = NodeId.Random(random);
        var y = NodeId.Random(random);
        var expected = x.ToArray().Zip(y.ToArray(), (a, b) => (byte)(a ^ b)).ToArray();
        Assert.Equal(Convert.ToHexStringLower(expected), x.DistanceTo(y).ToString());
        Assert.Equal(256, x.DistanceTo(x).LeadingZeroCount);
    }

    [Fact]
    public void XorDistance_IsBitSet_MatchesTheBytesOfTheXor_MostSignificantFirst()
    {
        var random = new Random(Seed + 6);
        for (var i = 0; i < 20; i++)
        {
            var x = NodeId.Random(random);
            var y = NodeId.Random(random);
            var xor = x.ToArray().Zip(y.ToArray(), (a, b) => (byte)(a ^ b)).ToArray();
            var distance = x.DistanceTo(y);
            for (var bit = 0; bit < NodeId.Bits; bit++)
            {
                Assert.Equal((xor[bit / 8] & (0x80 >> (bit % 8))) != 0, distance.IsBitSet(bit));
            }
        }

        Assert.Throws<ArgumentOutOfRangeException>(() => default(XorDistance).IsBitSet(256));
        Assert.Throws<ArgumentOutOfRangeException>(() => default(XorDistance).IsBitSet(-1));
    }
}
