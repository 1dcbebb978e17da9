namespace Overlay.Storage.Internal;

/// <summary>
/// RFC 4648 section 6 base32, lower-case alphabet "abcdefghijklmnopqrstuvwxyz234567", no padding — the
/// multibase 'b' encoding. Decoding is strict: only the lower-case alphabet, no padding, and unused trailing
/// bits must be zero, so every accepted string is the canonical encoding of its bytes.
/// </summary>
internal static class Base32
{
    private const string Alphabet = "abcdefghijklmnopqrstuvwxyz234567";

    /// <summary>Encodes <paramref name="data"/> without padding.</summary>
    public static string Encode(ReadOnlySpan<byte> data)
    {
        int outLength = ((data.Length * 8) + 4) / 5;
        var chars = new char[outLength];
        int buffer = 0;
        int bits = 0;
        int o = 0;
        foreach (byte b in data)
        {
            buffer = (buffer << 8) | b;
            bits += 8;
            while (bits >= 5)
            {
                chars[o++] = Alphabet[(buffer >> (bits - 5)) & 31];
                bits -= 5;
            }

            buffer &= (1 << bits) - 1;
        }

        if (bits > 0)
        {
            chars[o++] = Alphabet[(buffer << (5 - bits)) & 31];
        }

        return new string(chars, 0, o);
    }

    /// <summary>Decodes unpadded lower-case base32; returns false with a reason on any invalid input.</summary>
    public static bool TryDecode(ReadOnlySpan<char> text, out byte[] data, out string? error)
    {
        data = [];
        error = null;
        int rem = text.Length % 8;
        if (rem is 1 or 3 or 6)
        {
            error = $"base32 length {text.Length} is impossible (length mod 8 = {rem})";
            return false;
        }

        var result = new byte[text.Length * 5 / 8];
        int buffer = 0;
        int bits = 0;
        int o = 0;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            int v = c switch
            {
                >= 'a' and <= 'z' => c - 'a',
                >= '2' and <= '7' => c - '2' + 26,
                _ => -1,
            };
            if (v < 0)
            {
                error = c == '='
                    ? $"base32 padding '=' at position {i} is not allowed"
                    : $"character '{c}' at position {i} is not in the lower-case base32 alphabet (RFC 4648)";
                return false;
            }

            buffer = (buffer << 5) | v;
            bits += 5;
            if (bits >= 8)
            {
                result[o++] = (byte)(buffer >> (bits - 8));
                bits -= 8;
                buffer &= (1 << bits) - 1;
            }
        }

        if (buffer != 0)
        {
            error = "base32 has non-zero trailing bits (not canonical)";
            return false;
        }

        data = result;
        return true;
    }
}
