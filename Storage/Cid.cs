using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using Overlay.Storage.Internal;

namespace Overlay.Storage;

/// <summary>
/// A version 1 content identifier (multiformats CID spec, https://github.com/multiformats/cid):
/// binary form <c>varint(1) ‖ varint(codec) ‖ multihash</c>, where the multihash is always sha2-256:
/// <c>0x12 ‖ 0x20 ‖ 32-byte digest</c> (34 bytes). Text form is multibase base32 lower-case (RFC 4648,
/// no padding) with the 'b' prefix, e.g. <c>bafkrei…</c> for raw blocks and <c>bafybei…</c> for dag-pb.
/// </summary>
/// <remarks>
/// <see cref="Parse"/> also reads a CIDv0 (<c>Qm…</c>, base58btc of the multihash; it becomes the dag-pb CIDv1 of the
/// same multihash) and a CIDv1 in the other common multibases (see <see cref="Multibase"/>); <see cref="ToString"/>
/// always writes base32 lower. Hash functions other than sha2-256 are rejected with a <see cref="FormatException"/>.
/// Any codec value is accepted when parsing; <see cref="RawCodec"/> and <see cref="DagPbCodec"/> are the ones the
/// UnixFS importer produces. Instances are immutable and thread-safe.
/// </remarks>
public sealed class Cid : IEquatable<Cid>
{
    /// <summary>Multicodec code of the raw binary codec (0x55): the block is opaque bytes.</summary>
    public const ulong RawCodec = 0x55;

    /// <summary>Multicodec code of the dag-pb codec (0x70): the block is a protobuf PBNode (dag-pb spec).</summary>
    public const ulong DagPbCodec = 0x70;

    /// <summary>Multihash code of sha2-256 (0x12).</summary>
    public const ulong Sha2_256Code = 0x12;

    /// <summary>Digest length of sha2-256 in bytes (32).</summary>
    public const int Sha2_256Length = 32;

    private const int MultihashLength = 2 + Sha2_256Length;

    /// <summary>Characters of a CIDv0: base58btc of the 34-byte multihash is always 46 (and starts with "Qm").</summary>
    private const int CidV0Length = 46;

    /// <summary>
    /// Longest text accepted, characters: a CIDv1 with a sha2-256 multihash is at most 1 + 9 (codec varint) + 34 = 44
    /// bytes, 89 characters in base16 with its prefix; anything longer is refused before decoding (base58 and base36
    /// decoding cost grows with the square of the length).
    /// </summary>
    private const int MaxTextLength = 100;

    private readonly byte[] _bytes;
    private readonly int _multihashOffset;
    private string? _text;

    private Cid(byte[] bytes, ulong codec, int multihashOffset)
    {
        _bytes = bytes;
        Codec = codec;
        _multihashOffset = multihashOffset;
    }

    /// <summary>Gets the CID version; always 1.</summary>
    public int Version => 1;

    /// <summary>Gets the multicodec code of the content (e.g. <see cref="RawCodec"/>, <see cref="DagPbCodec"/>).</summary>
    public ulong Codec { get; }

    /// <summary>Gets the full multihash: 34 bytes, <c>0x12 ‖ 0x20 ‖ sha2-256 digest</c>.</summary>
    public ReadOnlyMemory<byte> Multihash => _bytes.AsMemory(_multihashOffset, MultihashLength);

    /// <summary>Gets the 32-byte sha2-256 digest inside <see cref="Multihash"/>.</summary>
    public ReadOnlyMemory<byte> Digest => _bytes.AsMemory(_multihashOffset + 2, Sha2_256Length);

    /// <summary>Computes the CIDv1 of <paramref name="block"/> with the sha2-256 multihash.</summary>
    /// <param name="codec">Multicodec code of the block, e.g. <see cref="RawCodec"/>; must be below 2^63.</param>
    /// <param name="block">The block bytes, any length.</param>
    /// <returns>The CID addressing <paramref name="block"/>.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="codec"/> is 2^63 or more (not a multiformats varint).</exception>
    public static Cid Compute(ulong codec, ReadOnlySpan<byte> block)
    {
        if (codec >= 1UL << 63)
        {
            throw new ArgumentOutOfRangeException(nameof(codec), codec, "codec must be below 2^63 (multiformats unsigned varint)");
        }

        int codecLength = Varint.SizeOf(codec);
        var bytes = new byte[1 + codecLength + MultihashLength];
        bytes[0] = 1;
        Varint.Write(bytes.AsSpan(1), codec);
        int mh = 1 + codecLength;
        bytes[mh] = (byte)Sha2_256Code;
        bytes[mh + 1] = Sha2_256Length;
        SHA256.HashData(block, bytes.AsSpan(mh + 2, Sha2_256Length));
        return new Cid(bytes, codec, mh);
    }

    /// <summary>
    /// Parses a CID string: a CIDv0 (<c>Qm…</c>, 46 base58btc characters) or a CIDv1 in multibase b/B (base32), z
    /// (base58btc), f/F (base16), k/K (base36), m/M (base64) or u/U (base64url), padded or not.
    /// </summary>
    /// <param name="text">The CID string, e.g. <c>bafkrei…</c> or <c>Qm…</c>; at most 100 characters.</param>
    /// <returns>The parsed CID (a CIDv0 becomes the dag-pb CIDv1 of its multihash).</returns>
    /// <exception cref="ArgumentNullException"><paramref name="text"/> is null.</exception>
    /// <exception cref="FormatException">The text is empty or too long, has an unsupported multibase prefix, is not
    /// valid in its base, is a malformed CIDv0, or its binary form is invalid (see <see cref="FromBytes"/>); the
    /// message says which form was expected and what failed.</exception>
    public static Cid Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (!TryParseCore(text, out var cid, out var error))
        {
            throw new FormatException($"invalid CID \"{Truncate(text)}\": {error}");
        }

        return cid;
    }

    /// <summary>Parses the text form without throwing; see <see cref="Parse"/>.</summary>
    /// <param name="text">The CID string, or null.</param>
    /// <param name="cid">The parsed CID, or null when this returns false.</param>
    /// <returns>True if <paramref name="text"/> is a valid CID string in a supported form.</returns>
    public static bool TryParse([NotNullWhen(true)] string? text, [NotNullWhen(true)] out Cid? cid)
    {
        if (text is null)
        {
            cid = null;
            return false;
        }

        return TryParseCore(text, out cid, out _);
    }

    /// <summary>Parses the text form without throwing and says why it failed; see <see cref="Parse"/>.</summary>
    /// <param name="text">The CID string, or null.</param>
    /// <param name="cid">The parsed CID, or null when this returns false.</param>
    /// <param name="error">One line naming the expected form and what failed (without the input), or null on success.</param>
    /// <returns>True if <paramref name="text"/> is a valid CID string in a supported form.</returns>
    public static bool TryParse([NotNullWhen(true)] string? text, [NotNullWhen(true)] out Cid? cid, [NotNullWhen(false)] out string? error)
    {
        if (text is null)
        {
            cid = null;
            error = "no CID was given";
            return false;
        }

        return TryParseCore(text, out cid, out error);
    }

    /// <summary>Decodes the binary form <c>varint(1) ‖ varint(codec) ‖ 0x12 ‖ 0x20 ‖ digest(32)</c>.</summary>
    /// <param name="bytes">Exactly one binary CID with no trailing bytes.</param>
    /// <returns>The decoded CID.</returns>
    /// <exception cref="FormatException">The bytes are a CIDv0, another version, a bad varint, a hash other than
    /// sha2-256/32 bytes, truncated, or followed by extra bytes; the message says which.</exception>
    public static Cid FromBytes(ReadOnlySpan<byte> bytes)
    {
        if (!TryFromBytesCore(bytes, out var cid, out var error))
        {
            throw new FormatException($"invalid binary CID: {error}");
        }

        return cid;
    }

    /// <summary>Decodes the binary form without throwing; see <see cref="FromBytes"/>.</summary>
    /// <param name="bytes">Exactly one binary CID.</param>
    /// <param name="cid">The decoded CID, or null when this returns false.</param>
    /// <returns>True if the bytes are a valid CIDv1 with a sha2-256 multihash.</returns>
    public static bool TryFromBytes(ReadOnlySpan<byte> bytes, [NotNullWhen(true)] out Cid? cid) =>
        TryFromBytesCore(bytes, out cid, out _);

    /// <summary>Returns a copy of the binary form (36 bytes for raw and dag-pb CIDs).</summary>
    /// <returns>A new array the caller owns.</returns>
    public byte[] ToBytes() => (byte[])_bytes.Clone();

    /// <summary>Returns the binary form without copying; callers must not modify it.</summary>
    internal ReadOnlySpan<byte> AsSpan() => _bytes;

    /// <summary>Recomputes sha2-256 of <paramref name="block"/> and compares it with this CID's digest.</summary>
    /// <param name="block">Candidate block bytes.</param>
    /// <returns>True if the block hashes to this CID's digest (the codec is not checked).</returns>
    public bool Matches(ReadOnlySpan<byte> block)
    {
        Span<byte> digest = stackalloc byte[Sha2_256Length];
        SHA256.HashData(block, digest);
        return digest.SequenceEqual(Digest.Span);
    }

    /// <summary>Returns the text form: 'b' followed by unpadded lower-case base32 of <see cref="ToBytes"/>.</summary>
    /// <returns>The CID string, e.g. <c>bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku</c>.</returns>
    public override string ToString() => _text ??= "b" + Base32.Encode(_bytes);

    /// <summary>Compares version, codec and multihash.</summary>
    /// <param name="other">The CID to compare with.</param>
    /// <returns>True if both encode to the same bytes.</returns>
    public bool Equals(Cid? other) => other is not null && _bytes.AsSpan().SequenceEqual(other._bytes);

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as Cid);

    /// <inheritdoc />
    public override int GetHashCode() => BitConverter.ToInt32(_bytes, _bytes.Length - 4);

    /// <summary>Compares two CIDs by value.</summary>
    /// <param name="left">First CID or null.</param>
    /// <param name="right">Second CID or null.</param>
    /// <returns>True if both are null or equal.</returns>
    public static bool operator ==(Cid? left, Cid? right) => left is null ? right is null : left.Equals(right);

    /// <summary>Compares two CIDs by value.</summary>
    /// <param name="left">First CID or null.</param>
    /// <param name="right">Second CID or null.</param>
    /// <returns>True if they differ.</returns>
    public static bool operator !=(Cid? left, Cid? right) => !(left == right);

    private static bool TryParseCore(string text, [NotNullWhen(true)] out Cid? cid, [NotNullWhen(false)] out string? error)
    {
        cid = null;
        if (text.Length == 0)
        {
            error = "the string is empty";
            return false;
        }

        if (text.Length > MaxTextLength)
        {
            error = $"it has {text.Length} characters; a sha2-256 CID has at most {MaxTextLength} in any supported multibase";
            return false;
        }

        if (text.StartsWith("Qm", StringComparison.Ordinal))
        {
            return TryParseV0(text, out cid, out error);
        }

        if (!Multibase.TryDecode(text, out var bytes, out error))
        {
            return false;
        }

        if (bytes.Length == MultihashLength && bytes[0] == 0x12 && bytes[1] == 0x20)
        {
            error = "it is a bare sha2-256 multihash (a CIDv0 in binary), which has no multibase form; write it as base58btc 'Qm…' or as a CIDv1";
            return false;
        }

        return TryFromBytesCore(bytes, out cid, out error);
    }

    /// <summary>
    /// Parses a CIDv0: base58btc (no multibase prefix) of the 34-byte sha2-256 multihash, always 46 characters starting
    /// with "Qm"; it means codec dag-pb, so the result is the CIDv1 <c>bafy…</c> of the same multihash (CID spec,
    /// "CIDv0").
    /// </summary>
    private static bool TryParseV0(string text, [NotNullWhen(true)] out Cid? cid, [NotNullWhen(false)] out string? error)
    {
        cid = null;
        if (text.Length != CidV0Length)
        {
            error = $"a CIDv0 is {CidV0Length} base58 characters starting with Qm, and this has {text.Length}";
            return false;
        }

        if (!Multibase.TryDecodeBase58(text, out var multihash, out error))
        {
            error = $"a CIDv0 is {CidV0Length} base58 characters starting with Qm: {error}";
            return false;
        }

        if (multihash.Length != MultihashLength || multihash[0] != Sha2_256Code || multihash[1] != Sha2_256Length)
        {
            error = $"a CIDv0 is the base58 of a 34-byte sha2-256 multihash (0x12 0x20 …), and this decodes to {multihash.Length} bytes starting 0x{Convert.ToHexStringLower(multihash.AsSpan(0, Math.Min(2, multihash.Length)))}";
            return false;
        }

        var bytes = new byte[2 + MultihashLength];
        bytes[0] = 1;
        bytes[1] = (byte)DagPbCodec;
        multihash.CopyTo(bytes, 2);
        cid = new Cid(bytes, DagPbCodec, 2);
        error = null;
        return true;
    }

    private static bool TryFromBytesCore(ReadOnlySpan<byte> bytes, [NotNullWhen(true)] out Cid? cid, [NotNullWhen(false)] out string? error)
    {
        cid = null;
        if (bytes.Length == 0)
        {
            error = "no bytes";
            return false;
        }

        if (bytes.Length == MultihashLength && bytes[0] == 0x12 && bytes[1] == 0x20)
        {
            error = "CIDv0 (a bare sha2-256 multihash) is not supported; use a CIDv1";
            return false;
        }

        if (!Varint.TryRead(bytes, out ulong version, out int n, out var vErr))
        {
            error = $"bad version varint: {vErr}";
            return false;
        }

        if (version != 1)
        {
            error = version == 0 ? "CID version 0 is not supported; use a CIDv1" : $"CID version {version} is not supported (only 1)";
            return false;
        }

        int pos = n;
        if (!Varint.TryRead(bytes[pos..], out ulong codec, out n, out vErr))
        {
            error = $"bad codec varint: {vErr}";
            return false;
        }

        pos += n;
        int mhStart = pos;
        if (!Varint.TryRead(bytes[pos..], out ulong hashCode, out n, out vErr))
        {
            error = $"bad multihash code varint: {vErr}";
            return false;
        }

        pos += n;
        if (hashCode != Sha2_256Code)
        {
            error = $"unsupported multihash code 0x{hashCode:x} (only sha2-256, 0x12)";
            return false;
        }

        if (!Varint.TryRead(bytes[pos..], out ulong digestLength, out n, out vErr))
        {
            error = $"bad multihash length varint: {vErr}";
            return false;
        }

        pos += n;
        if (digestLength != Sha2_256Length)
        {
            error = $"sha2-256 digest length is {digestLength}, expected 32";
            return false;
        }

        int remaining = bytes.Length - pos;
        if (remaining < Sha2_256Length)
        {
            error = $"multihash digest is truncated: {remaining} of 32 bytes";
            return false;
        }

        if (remaining > Sha2_256Length)
        {
            error = $"{remaining - Sha2_256Length} unexpected bytes after the multihash";
            return false;
        }

        cid = new Cid(bytes.ToArray(), codec, mhStart);
        error = null;
        return true;
    }

    private static string Truncate(string text) => text.Length <= 80 ? text : string.Concat(text.AsSpan(0, 77), "...");
}
