namespace Overlay.Storage.Internal;

/// <summary>
/// Unsigned LEB128 varints as used by multiformats (https://github.com/multiformats/unsigned-varint):
/// at most 9 bytes (63 bits of payload), minimally encoded.
/// </summary>
internal static class Varint
{
    /// <summary>The multiformats limit: 9 bytes, i.e. values below 2^63.</summary>
    public const int MaxLength = 9;

    /// <summary>Returns the encoded length of <paramref name="value"/> in bytes (1..10).</summary>
    public static int SizeOf(ulong value)
    {
        int n = 1;
        while (value >= 0x80)
        {
            value >>= 7;
            n++;
        }

        return n;
    }

    /// <summary>Writes <paramref name="value"/> at the start of <paramref name="destination"/> and returns the bytes written.</summary>
    public static int Write(Span<byte> destination, ulong value)
    {
        int i = 0;
        while (value >= 0x80)
        {
            destination[i++] = (byte)(value | 0x80);
            value >>= 7;
        }

        destination[i++] = (byte)value;
        return i;
    }

    /// <summary>Appends <paramref name="value"/> to <paramref name="buffer"/>.</summary>
    public static void Write(List<byte> buffer, ulong value)
    {
        Span<byte> tmp = stackalloc byte[10];
        int n = Write(tmp, value);
        for (int i = 0; i < n; i++)
        {
            buffer.Add(tmp[i]);
        }
    }

    /// <summary>
    /// Reads a multiformats unsigned varint; returns false with a reason if it is truncated, longer than
    /// 9 bytes, or not minimally encoded.
    /// </summary>
    public static bool TryRead(ReadOnlySpan<byte> source, out ulong value, out int length, out string? error)
    {
        value = 0;
        length = 0;
        error = null;
        int shift = 0;
        for (int i = 0; i < source.Length; i++)
        {
            if (i >= MaxLength)
            {
                error = "varint is longer than 9 bytes";
                return false;
            }

            byte b = source[i];
            value |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
            {
                if (b == 0 && i > 0)
                {
                    error = "varint is not minimally encoded";
                    value = 0;
                    return false;
                }

                length = i + 1;
                return true;
            }

            shift += 7;
        }

        error = source.Length == 0 ? "varint is missing (no bytes left)" : "varint is truncated";
        value = 0;
        return false;
    }
}
