using System.Buffers.Binary;

namespace Overlay.Transport.Sessions.Streams.Internal;

/// <summary>
/// QUIC variable-length integers (RFC 9000 §16): the two high bits of the first byte give the length (00 = 1 byte,
/// 01 = 2, 10 = 4, 11 = 8 bytes, big-endian), the rest is the value, 0 ..= 2^62 − 1. Writers use the shortest form;
/// readers accept any form, as §16 requires.
/// </summary>
internal static class QuicVarint
{
    /// <summary>Largest encodable value: 2^62 − 1 (RFC 9000 §16).</summary>
    public const long MaxValue = (1L << 62) - 1;

    /// <summary>Longest encoding, bytes.</summary>
    public const int MaxLength = 8;

    /// <summary>Returns the length in bytes (1, 2, 4 or 8) of the shortest encoding of <paramref name="value"/>.</summary>
    /// <param name="value">0 ..= <see cref="MaxValue"/>.</param>
    /// <returns>The encoded length, bytes.</returns>
    public static int SizeOf(long value) => value switch
    {
        <= 63 => 1,
        <= 16_383 => 2,
        <= 1_073_741_823 => 4,
        _ => 8,
    };

    /// <summary>Writes <paramref name="value"/> in its shortest form at the start of <paramref name="destination"/>.</summary>
    /// <param name="destination">At least <see cref="SizeOf"/>(value) bytes.</param>
    /// <param name="value">0 ..= <see cref="MaxValue"/>; callers validate (a larger value is a bug, not input).</param>
    /// <returns>Bytes written.</returns>
    public static int Write(Span<byte> destination, long value)
    {
        switch (value)
        {
            case <= 63:
                destination[0] = (byte)value;
                return 1;
            case <= 16_383:
                BinaryPrimitives.WriteUInt16BigEndian(destination, (ushort)(0x4000 | value));
                return 2;
            case <= 1_073_741_823:
                BinaryPrimitives.WriteUInt32BigEndian(destination, 0x8000_0000u | (uint)value);
                return 4;
            default:
                BinaryPrimitives.WriteUInt64BigEndian(destination, 0xC000_0000_0000_0000ul | (ulong)value);
                return 8;
        }
    }

    /// <summary>Reads one varint at <paramref name="position"/> and advances past it; never throws on any input.</summary>
    /// <param name="source">The bytes.</param>
    /// <param name="position">Where to read; advanced by the encoded length on success, unchanged on failure.</param>
    /// <param name="value">The value, 0 ..= <see cref="MaxValue"/>.</param>
    /// <returns>False when <paramref name="source"/> ends inside the varint.</returns>
    public static bool TryRead(ReadOnlySpan<byte> source, ref int position, out long value)
    {
        value = 0;
        if ((uint)position >= (uint)source.Length)
        {
            return false;
        }

        var first = source[position];
        var length = 1 << (first >> 6);
        if (source.Length - position < length)
        {
            return false;
        }

        var bytes = source.Slice(position, length);
        value = length switch
        {
            1 => first & 0x3F,
            2 => BinaryPrimitives.ReadUInt16BigEndian(bytes) & 0x3FFF,
            4 => BinaryPrimitives.ReadUInt32BigEndian(bytes) & 0x3FFF_FFFF,
            _ => (long)(BinaryPrimitives.ReadUInt64BigEndian(bytes) & 0x3FFF_FFFF_FFFF_FFFF),
        };
        position += length;
        return true;
    }
}
