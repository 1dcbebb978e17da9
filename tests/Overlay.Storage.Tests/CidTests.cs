using Overlay.Storage.Internal;

namespace Overlay.Storage.Tests;

public sealed class CidTests
{
    // sha2-256 of the empty string is e3b0c442...; as a raw CIDv1 this is the well-known empty-block CID.
    private const string EmptyRaw = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku";

    [Fact]
    public void Compute_EmptyRawBlock_IsWellKnownCid()
    {
        var cid = Cid.Compute(Cid.RawCodec, []);
        Assert.Equal(EmptyRaw, cid.ToString());
        Assert.Equal(1, cid.Version);
        Assert.Equal(Cid.RawCodec, cid.Codec);
        Assert.Equal(34, cid.Multihash.Length);
        Assert.Equal(0x12, cid.Multihash.Span[0]);
        Assert.Equal(0x20, cid.Multihash.Span[1]);
        Assert.Equal("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", Convert.ToHexStringLower(cid.Digest.Span));
        Assert.Equal(36, cid.ToBytes().Length);
    }

    [Theory]
    [InlineData(EmptyRaw)]
    [InlineData("bafybeihw55l5oz7ybhcvoudu6y7chrnrnf5s2nawc6utwbecealp2hlvje")]
    public void Parse_ToString_RoundTrips(string text)
    {
        var cid = Cid.Parse(text);
        Assert.Equal(text, cid.ToString());
        var again = Cid.FromBytes(cid.ToBytes());
        Assert.Equal(cid, again);
        Assert.True(cid == again);
        Assert.Equal(cid.GetHashCode(), again.GetHashCode());
        Assert.True(Cid.TryParse(text, out var parsed));
        Assert.Equal(cid, parsed);
    }

    [Fact]
    public void Parse_DagPb_HasDagPbCodec()
    {
        var cid = Cid.Parse("bafybeihw55l5oz7ybhcvoudu6y7chrnrnf5s2nawc6utwbecealp2hlvje");
        Assert.Equal(Cid.DagPbCodec, cid.Codec);
    }

    [Fact]
    public void RoundTrip_ManyRandomBlocks()
    {
        var rng = new Random(1234);
        for (int i = 0; i < 500; i++)
        {
            var block = new byte[rng.Next(0, 300)];
            rng.NextBytes(block);
            ulong codec = i % 3 == 0 ? Cid.DagPbCodec : i % 3 == 1 ? Cid.RawCodec : (ulong)rng.NextInt64(0, long.MaxValue);
            var cid = Cid.Compute(codec, block);
            Assert.True(cid.Matches(block));
            var parsed = Cid.Parse(cid.ToString());
            Assert.Equal(cid, parsed);
            Assert.Equal(codec, parsed.Codec);
            Assert.Equal(cid, Cid.FromBytes(cid.ToBytes()));
            if (block.Length > 0)
            {
                block[rng.Next(block.Length)] ^= 0x01;
                Assert.False(cid.Matches(block));
            }
        }
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG", "CIDv0 ('Qm…') is not supported; use a CIDv1 (b…)")]
    [InlineData("zb2rhe5P4gXftAwvA4eXQ5HJwsER2owDyS9sKaQRRVQPn93bA", "multibase 'z' (base58btc) is not supported")]
    [InlineData("BAFKREIHDWDCEFGH4DQKJV67UZCMW7OJEE6XEDZDETOJUZJEVTENXQUVYKU", "multibase 'B' (base32 upper)")]
    [InlineData("xafkrei", "unknown multibase prefix 'x'")]
    [InlineData("bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyk1", "character '1' at position")]
    [InlineData("bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvy", "digest is truncated")]
    [InlineData("bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvykua", "impossible")]
    [InlineData("bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvykv", "non-zero trailing bits")]
    [InlineData("bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku======", "padding")]
    public void Parse_BadInput_ThrowsFormatExceptionWithReason(string text, string reason)
    {
        var ex = Assert.Throws<FormatException>(() => Cid.Parse(text));
        Assert.Contains(reason, ex.Message, StringComparison.Ordinal);
        Assert.False(Cid.TryParse(text, out var cid));
        Assert.Null(cid);
    }

    [Fact]
    public void TryParse_Null_ReturnsFalse()
    {
        Assert.False(Cid.TryParse(null, out var cid));
        Assert.Null(cid);
        Assert.Throws<ArgumentNullException>(() => Cid.Parse(null!));
    }

    public static TheoryData<string, string> BadBinaries => new()
    {
        { "", "no bytes" },
        { "1220" + new string('a', 64), "CIDv0" },
        { "00", "version 0" },
        { "02", "version 2" },
        { "80", "truncated" },
        { "8100", "not minimally encoded" },
        { "01", "missing" },
        { "0155", "missing" },
        { "015513" + "20" + new string('a', 64), "unsupported multihash code 0x13" },
        { "015512" + "14" + new string('a', 40), "digest length is 20" },
        { "015512" + "20" + new string('a', 62), "truncated: 31 of 32" },
        { "015512" + "20" + new string('a', 66), "1 unexpected bytes" },
        { "01" + "ffffffffffffffffff01" + "1220" + new string('a', 64), "longer than 9 bytes" },
    };

    [Theory]
    [MemberData(nameof(BadBinaries))]
    public void FromBytes_BadInput_ThrowsFormatExceptionWithReason(string hex, string reason)
    {
        var bytes = Convert.FromHexString(hex);
        var ex = Assert.Throws<FormatException>(() => Cid.FromBytes(bytes));
        Assert.Contains(reason, ex.Message, StringComparison.Ordinal);
        Assert.False(Cid.TryFromBytes(bytes, out _));
    }

    [Fact]
    public void Compute_CodecAbove63Bits_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Cid.Compute(1UL << 63, []));
    }

    [Fact]
    public void Equality_DiffersByCodec()
    {
        var raw = Cid.Compute(Cid.RawCodec, [1, 2, 3]);
        var pb = Cid.Compute(Cid.DagPbCodec, [1, 2, 3]);
        Assert.NotEqual(raw, pb);
        Assert.True(raw != pb);
        Assert.False(raw.Equals(null));
    }
}

public sealed class VarintTests
{
    [Theory]
    [InlineData(0UL, "00")]
    [InlineData(1UL, "01")]
    [InlineData(127UL, "7f")]
    [InlineData(128UL, "8001")]
    [InlineData(255UL, "ff01")]
    [InlineData(300UL, "ac02")]
    [InlineData(16384UL, "808001")]
    [InlineData((1UL << 63) - 1, "ffffffffffffffff7f")]
    public void WriteAndRead_RoundTrip(ulong value, string hex)
    {
        Span<byte> buf = stackalloc byte[10];
        int n = Varint.Write(buf, value);
        Assert.Equal(hex, Convert.ToHexStringLower(buf[..n]));
        Assert.Equal(n, Varint.SizeOf(value));
        Assert.True(Varint.TryRead(Convert.FromHexString(hex), out ulong read, out int length, out var error));
        Assert.Null(error);
        Assert.Equal(value, read);
        Assert.Equal(n, length);
    }

    [Theory]
    [InlineData("", "missing")]
    [InlineData("80", "truncated")]
    [InlineData("ff80", "truncated")]
    [InlineData("8000", "not minimally encoded")]
    [InlineData("ff00", "not minimally encoded")]
    [InlineData("ffffffffffffffffff01", "longer than 9 bytes")]
    public void Read_Invalid_Rejected(string hex, string reason)
    {
        Assert.False(Varint.TryRead(Convert.FromHexString(hex), out _, out _, out var error));
        Assert.Contains(reason, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_StopsAtFirstTerminator()
    {
        Assert.True(Varint.TryRead(Convert.FromHexString("0155ff"), out ulong v, out int n, out _));
        Assert.Equal(1UL, v);
        Assert.Equal(1, n);
    }
}

public sealed class Base32Tests
{
    // RFC 4648 section 10 test vectors, lower-case and without padding.
    [Theory]
    [InlineData("", "")]
    [InlineData("f", "my")]
    [InlineData("fo", "mzxq")]
    [InlineData("foo", "mzxw6")]
    [InlineData("foob", "mzxw6yq")]
    [InlineData("fooba", "mzxw6ytb")]
    [InlineData("foobar", "mzxw6ytboi")]
    public void Rfc4648Vectors(string plain, string encoded)
    {
        var bytes = System.Text.Encoding.ASCII.GetBytes(plain);
        Assert.Equal(encoded, Base32.Encode(bytes));
        Assert.True(Base32.TryDecode(encoded, out var decoded, out _));
        Assert.Equal(bytes, decoded);
    }
}
