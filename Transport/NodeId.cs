using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;

namespace Overlay.Transport;

/// <summary>
/// A 256-bit identifier in the Kademlia key space: a node's ID (SHA-256 of its 32-byte Ed25519 public key) or a
/// record key (SHA-256 of the value, of public key and salt, or of a CID's multihash). Keys and node IDs share one
/// space so that XOR distance between them is defined (Maymounkov &amp; Mazières 2002, §2.1).
/// </summary>
/// <remarks>
/// Stored as four big-endian 64-bit words so that XOR and ordering are four machine operations.
/// The one text form is 64 lowercase hexadecimal characters, most significant byte first.
/// Thread-safe (immutable value).
/// </remarks>
public readonly record struct NodeId : IComparable<NodeId>
{
    /// <summary>Length of an ID in bytes (32).</summary>
    public const int Length = 32;

    /// <summary>Number of bits in an ID (256), and so the number of k-buckets in a routing table.</summary>
    public const int Bits = 256;

    private readonly ulong _w0, _w1, _w2, _w3;

    private NodeId(ulong w0, ulong w1, ulong w2, ulong w3)
    {
        _w0 = w0;
        _w1 = w1;
        _w2 = w2;
        _w3 = w3;
    }

    /// <summary>Reads an ID from exactly 32 bytes, most significant byte first.</summary>
    /// <param name="bytes">32 bytes.</param>
    /// <exception cref="ArgumentException"><paramref name="bytes"/> is not 32 bytes long.</exception>
    public static NodeId FromBytes(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length != Length)
        {
            throw new ArgumentException($"A node ID is {Length} bytes; got {bytes.Length}.", nameof(bytes));
        }

        return new NodeId(
            BinaryPrimitives.ReadUInt64BigEndian(bytes),
            BinaryPrimitives.ReadUInt64BigEndian(bytes[8..]),
            BinaryPrimitives.ReadUInt64BigEndian(bytes[16..]),
            BinaryPrimitives.ReadUInt64BigEndian(bytes[24..]));
    }

    /// <summary>Reads an ID from untrusted bytes without throwing.</summary>
    /// <param name="bytes">Candidate bytes; anything but 32 bytes fails.</param>
    /// <param name="id">The ID when the result is <see langword="true"/>.</param>
    /// <returns><see langword="true"/> when <paramref name="bytes"/> is exactly 32 bytes.</returns>
    public static bool TryFromBytes(ReadOnlySpan<byte> bytes, out NodeId id)
    {
        if (bytes.Length != Length)
        {
            id = default;
            return false;
        }

        id = FromBytes(bytes);
        return true;
    }

    /// <summary>Returns the SHA-256 (FIPS 180-4) of <paramref name="data"/> as a key-space point.</summary>
    /// <param name="data">Any bytes: a public key, a value, a multihash.</param>
    public static NodeId HashOf(ReadOnlySpan<byte> data)
    {
        Span<byte> digest = stackalloc byte[Length];
        SHA256.HashData(data, digest);
        return FromBytes(digest);
    }

    /// <summary>Draws a uniformly random ID from <paramref name="random"/> (seeded in tests and simulations).</summary>
    /// <param name="random">The randomness source.</param>
    public static NodeId Random(Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        Span<byte> bytes = stackalloc byte[Length];
        random.NextBytes(bytes);
        return FromBytes(bytes);
    }

    /// <summary>Parses the text form: exactly 64 hexadecimal characters (either case).</summary>
    /// <param name="text">The text form.</param>
    /// <exception cref="FormatException">The text is not 64 hexadecimal characters.</exception>
    public static NodeId Parse(string text)
    {
        if (!TryParse(text, out var id))
        {
            throw new FormatException($"A node ID is 64 hexadecimal characters; got '{Truncate(text)}'.");
        }

        return id;
    }

    /// <summary>Parses the text form without throwing.</summary>
    /// <param name="text">Candidate text.</param>
    /// <param name="id">The ID when the result is <see langword="true"/>.</param>
    /// <returns><see langword="true"/> when <paramref name="text"/> is 64 hexadecimal characters.</returns>
    public static bool TryParse([NotNullWhen(true)] string? text, out NodeId id)
    {
        id = default;
        if (text is null || text.Length != Length * 2)
        {
            return false;
        }

        Span<byte> bytes = stackalloc byte[Length];
        if (Convert.FromHexString(text, bytes, out _, out var written) != System.Buffers.OperationStatus.Done
            || written != Length)
        {
            return false;
        }

        id = FromBytes(bytes);
        return true;
    }

    /// <summary>Writes the 32 bytes of the ID, most significant first.</summary>
    /// <param name="destination">At least 32 bytes.</param>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is shorter than 32 bytes.</exception>
    public void WriteTo(Span<byte> destination)
    {
        if (destination.Length < Length)
        {
            throw new ArgumentException($"Need {Length} bytes; got {destination.Length}.", nameof(destination));
        }

        BinaryPrimitives.WriteUInt64BigEndian(destination, _w0);
        BinaryPrimitives.WriteUInt64BigEndian(destination[8..], _w1);
        BinaryPrimitives.WriteUInt64BigEndian(destination[16..], _w2);
        BinaryPrimitives.WriteUInt64BigEndian(destination[24..], _w3);
    }

    /// <summary>Returns the 32 bytes of the ID in a new array, most significant first.</summary>
    public byte[] ToArray()
    {
        var bytes = new byte[Length];
        WriteTo(bytes);
        return bytes;
    }

    /// <summary>Returns the XOR distance between this ID and <paramref name="other"/> (paper §2.1).</summary>
    /// <param name="other">The other point of the key space.</param>
    public XorDistance DistanceTo(NodeId other) =>
        new(_w0 ^ other._w0, _w1 ^ other._w1, _w2 ^ other._w2, _w3 ^ other._w3);

    /// <summary>
    /// Returns the number of leading bits this ID shares with <paramref name="other"/>: 0..255 for distinct IDs, 256
    /// for equal ones. It is the index of the k-bucket that holds <paramref name="other"/> in this node's table.
    /// </summary>
    /// <param name="other">The other ID.</param>
    public int CommonPrefixLength(NodeId other) => DistanceTo(other).LeadingZeroCount;

    /// <summary>
    /// Returns an ID that shares exactly <paramref name="prefixLength"/> leading bits with this one (bit
    /// <paramref name="prefixLength"/> flipped, the rest random): a target inside k-bucket <paramref name="prefixLength"/>,
    /// used for bucket refresh (paper §2.3).
    /// </summary>
    /// <param name="prefixLength">0..255.</param>
    /// <param name="random">Randomness for the trailing bits.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="prefixLength"/> is outside 0..255.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="random"/> is null.</exception>
    public NodeId RandomInBucket(int prefixLength, Random random)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(prefixLength);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(prefixLength, Bits - 1);
        ArgumentNullException.ThrowIfNull(random);
        Span<byte> mine = stackalloc byte[Length];
        Span<byte> rand = stackalloc byte[Length];
        WriteTo(mine);
        random.NextBytes(rand);
        for (var bit = 0; bit < Bits; bit++)
        {
            var mask = (byte)(0x80 >> (bit & 7));
            var value = bit < prefixLength ? mine[bit >> 3] & mask
                : bit == prefixLength ? ~mine[bit >> 3] & mask
                : rand[bit >> 3] & mask;
            rand[bit >> 3] = (byte)((rand[bit >> 3] & ~mask) | value);
        }

        return FromBytes(rand);
    }

    /// <summary>Orders IDs as unsigned 256-bit big-endian integers.</summary>
    /// <param name="other">The other ID.</param>
    public int CompareTo(NodeId other)
    {
        var c = _w0.CompareTo(other._w0);
        if (c != 0) return c;
        c = _w1.CompareTo(other._w1);
        if (c != 0) return c;
        c = _w2.CompareTo(other._w2);
        return c != 0 ? c : _w3.CompareTo(other._w3);
    }

    /// <summary>Returns the text form: 64 lowercase hexadecimal characters.</summary>
    public override string ToString()
    {
        Span<byte> bytes = stackalloc byte[Length];
        WriteTo(bytes);
        return Convert.ToHexStringLower(bytes);
    }

    /// <summary>Returns the first 8 hexadecimal characters, for logs and tables.</summary>
    public string ToShortString() => ToString()[..8];

    private static string Truncate(string? text) =>
        text is null ? "(null)" : text.Length <= 80 ? text : text[..80] + "…";
}
