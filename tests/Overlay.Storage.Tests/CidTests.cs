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
    [InlineData("xafkrei", "multibase prefix 'x' is not supported (b, B, z, f, F, k, K, m, M, u, U; or a CIDv0, Qm…)")]
    [InlineData("QmbWqxBEKC3P8tqsKc98xmWNzrzDtRLMiMPL8wBuTGsMn", "a CIDv0 is 46 base58 characters starting with Qm, and this has 45")]
    [InlineData("QmbWqxBEKC3P8tqsKc98xmWNzrzDtRLMiMPL8wBuTGsMn0", "character '0' at position 46 is not in the base58btc")]
    [InlineData("QmbWqxBEKC3P8tqsKc98xmWNzrzDtRLMiMPL8wBuTGsMnRR", "a CIDv0 is 46 base58 characters starting with Qm, and this has 47")]
    [InlineData("QmzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzZ", "a CIDv0 is the base58 of a 34-byte sha2-256 multihash")]
    [InlineData("BAFYBEIGDYRZT5SFP7UDM7HU76UH7Y26NF3EFUYLQABF3OCLGTQY55FBZDi", "base32 upper (multibase B): character 'i' at position 59 is lower case")]
    [InlineData("zdj7Wic6KcJAfWz1c9o4M6kq9Lwd5BfbxkVafnrojaaGiSFxl", "base58btc (multibase z): character 'l' at position 49")]
    [InlineData("f01701220c3c4733ec8affd06cf9e9ff50ffc6bcd2ec85a6170004bb709669c31de94391", "base16 (multibase f): 71 characters is an odd number")]
    [InlineData("f01701220C3C4733EC8AFFD06CF9E9FF50FFC6BCD2EC85A6170004BB709669C31DE94391A", "not in the base16 lower-case alphabet")]
    [InlineData("k2jmtxw8rjh1z69c6not3wtdxb0u3urbzhyll1t9jg6ox26dhi5sfi1m!", "character '!' at position 57")]
    [InlineData("mAXASIMPEcz7Ir/0Gz56f9Q/8a80uyFphcABLtwlmnDHelDk", "digest is truncated")]
    [InlineData("uAXASIMPEcz7Ir/0Gz56f9Q/8a80uyFphcABLtwlmnDHelDka", "character '/' at position 15 is not in the base64url alphabet")]
    [InlineData("zQmbWqxBEKC3P8tqsKc98xmWNzrzDtRLMiMPL8wBuTGsMnR", "bare sha2-256 multihash")]
    [InlineData("b", "nothing after the multibase prefix")]
    [InlineData(" bafkrei", "multibase prefix 'U+0020' is not supported")]
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

    /// <summary>
    /// The IPFS docs' example CID in every accepted form. The CIDv0 ↔ CIDv1 pair was checked independently (Python:
    /// base58 decode of the Qm string is 0x12 0x20 + 32 bytes; base32 of 0x01 0x70 + those 34 bytes is the bafy string),
    /// and the other multibase strings were encoded by Python's base64 module and a hand-written base58/base36.
    /// </summary>
    [Theory]
    [InlineData("QmbWqxBEKC3P8tqsKc98xmWNzrzDtRLMiMPL8wBuTGsMnR")]
    [InlineData("bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi")]
    [InlineData("BAFYBEIGDYRZT5SFP7UDM7HU76UH7Y26NF3EFUYLQABF3OCLGTQY55FBZDI")]
    [InlineData("zdj7Wic6KcJAfWz1c9o4M6kq9Lwd5BfbxkVafnrojaaGiSFxM")]
    [InlineData("f01701220c3c4733ec8affd06cf9e9ff50ffc6bcd2ec85a6170004bb709669c31de94391a")]
    [InlineData("F01701220C3C4733EC8AFFD06CF9E9FF50FFC6BCD2EC85A6170004BB709669C31DE94391A")]
    [InlineData("k2jmtxw8rjh1z69c6not3wtdxb0u3urbzhyll1t9jg6ox26dhi5sfi1m")]
    [InlineData("K2JMTXW8RJH1Z69C6NOT3WTDXB0U3URBZHYLL1T9JG6OX26DHI5SFI1M")]
    [InlineData("mAXASIMPEcz7Ir/0Gz56f9Q/8a80uyFphcABLtwlmnDHelDka")]
    [InlineData("MAXASIMPEcz7Ir/0Gz56f9Q/8a80uyFphcABLtwlmnDHelDka")]
    [InlineData("uAXASIMPEcz7Ir_0Gz56f9Q_8a80uyFphcABLtwlmnDHelDka")]
    [InlineData("UAXASIMPEcz7Ir_0Gz56f9Q_8a80uyFphcABLtwlmnDHelDka")]
    public void Parse_EveryForm_OfTheDocsExample_IsTheSameDagPbCidV1(string text)
    {
        var cid = Cid.Parse(text);

        Assert.Equal("bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi", cid.ToString());
        Assert.Equal(Cid.DagPbCodec, cid.Codec);
        Assert.Equal("c3c4733ec8affd06cf9e9ff50ffc6bcd2ec85a6170004bb709669c31de94391a", Convert.ToHexStringLower(cid.Digest.Span));
        Assert.True(Cid.TryParse(text, out var again));
        Assert.Equal(cid, again);
    }

    [Theory]
    [InlineData("mAVUSIOOwxEKY/BwUmvv0yJlvuSQnrkHkZJuTTKSVmRt4UrhV", "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku")]
    [InlineData("MAakCEiDjsMRCmPwcFJr79MiZb7kkJ65B5GSbk0yklZkbeFK4VQ==", "baguqeera4oymiquy7qobjgx36tejs35zeqt24qpemsnzgtfeswmrw6csxbkq")]
    [InlineData("mAakCEiDjsMRCmPwcFJr79MiZb7kkJ65B5GSbk0yklZkbeFK4VQ", "baguqeera4oymiquy7qobjgx36tejs35zeqt24qpemsnzgtfeswmrw6csxbkq")]
    [InlineData("UAakCEiDjsMRCmPwcFJr79MiZb7kkJ65B5GSbk0yklZkbeFK4VQ==", "baguqeera4oymiquy7qobjgx36tejs35zeqt24qpemsnzgtfeswmrw6csxbkq")]
    public void Parse_Base64_WithAndWithoutPadding(string text, string expected)
    {
        Assert.Equal(expected, Cid.Parse(text).ToString());
    }

    /// <summary>
    /// Seeded random strings (random prefix from the supported set plus junk, random length, random characters from a
    /// mix of every alphabet and some others), and single-character mutations of valid CIDs in every form: each either
    /// parses to a CID that prints and re-parses to itself, or fails with a FormatException; nothing else is thrown.
    /// </summary>
    [Fact]
    public void Parse_RandomAndMutatedStrings_OnlyEverThrowFormatException()
    {
        var random = new Random(20_260_101);
        const string prefixes = "bBzfFkKmMuUQx1 ";
        const string characters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/-_=!é \t";
        string[] valid =
        [
            "QmbWqxBEKC3P8tqsKc98xmWNzrzDtRLMiMPL8wBuTGsMnR",
            "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi",
            "zdj7Wic6KcJAfWz1c9o4M6kq9Lwd5BfbxkVafnrojaaGiSFxM",
            "f01701220c3c4733ec8affd06cf9e9ff50ffc6bcd2ec85a6170004bb709669c31de94391a",
            "k2jmtxw8rjh1z69c6not3wtdxb0u3urbzhyll1t9jg6ox26dhi5sfi1m",
            "mAXASIMPEcz7Ir/0Gz56f9Q/8a80uyFphcABLtwlmnDHelDka",
            "UAXASIMPEcz7Ir_0Gz56f9Q_8a80uyFphcABLtwlmnDHelDka",
        ];
        var parsed = 0;
        for (var i = 0; i < 6000; i++)
        {
            string text;
            if (i % 2 == 0)
            {
                var length = random.Next(0, 120);
                var chars = new char[length];
                for (var j = 0; j < length; j++)
                {
                    chars[j] = j == 0 ? prefixes[random.Next(prefixes.Length)] : characters[random.Next(characters.Length)];
                }

                text = i % 4 == 0 && length > 2 ? "Qm" + new string(chars, 2, length - 2) : new string(chars);
            }
            else
            {
                var chars = valid[random.Next(valid.Length)].ToCharArray();
                chars[random.Next(chars.Length)] = characters[random.Next(characters.Length)];
                text = random.Next(10) == 0 ? new string(chars, 0, random.Next(chars.Length)) : new string(chars);
            }

            try
            {
                var cid = Cid.Parse(text);
                Assert.Equal(cid, Cid.Parse(cid.ToString()));
                parsed++;
            }
            catch (FormatException ex)
            {
                Assert.StartsWith("invalid CID", ex.Message, StringComparison.Ordinal);
                Assert.False(Cid.TryParse(text, out _));
            }
        }

        // Some mutations land on an equivalent character or a valid different digest; the rest must be refused.
        Assert.InRange(parsed, 0, 3000);
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
