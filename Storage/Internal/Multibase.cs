using System.Diagnostics.CodeAnalysis;

namespace Overlay.Storage.Internal;

/// <summary>
/// Decodes the multibase text forms a CID is commonly written in (multiformats multibase spec, "multibase.csv"):
/// <c>b</c>/<c>B</c> base32 lower/upper (RFC 4648 §6, no padding), <c>z</c> base58btc, <c>f</c>/<c>F</c> base16
/// lower/upper, <c>k</c>/<c>K</c> base36 lower/upper, <c>m</c>/<c>M</c> base64 (RFC 4648 §4) and <c>u</c>/<c>U</c>
/// base64url (§5), each of the four accepted with or without padding. Base58, base36 and base16 use SimpleBase; base32
/// is our strict <see cref="Base32"/>; base64 is the framework's. Every character is checked against its alphabet before
/// decoding, so no input throws: a failure is <c>false</c> and a reason that names the base and the first bad character.
/// Thread-safe (stateless).
/// </summary>
internal static class Multibase
{
    /// <summary>The prefixes accepted, for messages.</summary>
    public const string Supported = "b, B, z, f, F, k, K, m, M, u, U";

    private const string Base58Alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

    /// <summary>Decodes a multibase string (prefix character, then the encoded bytes).</summary>
    /// <param name="text">The text, at least one character.</param>
    /// <param name="data">The bytes, or empty when this returns false.</param>
    /// <param name="error">Why decoding failed, or null.</param>
    /// <returns>True when the prefix is supported and the rest is valid in its base.</returns>
    public static bool TryDecode(string text, out byte[] data, [NotNullWhen(false)] out string? error)
    {
        data = [];
        if (text.Length < 2)
        {
            error = "there is nothing after the multibase prefix";
            return false;
        }

        var body = text.AsSpan(1);
        var prefix = text[0];
        return prefix switch
        {
            'b' => Named(Base32.TryDecode(body, out data, out error), "base32 (multibase b)", ref error),
            'B' => TryDecodeBase32Upper(body, out data, out error),
            'z' => Named(TryDecodeDividingCore(body, 1, Base58Alphabet, SimpleBase.Base58.Bitcoin, "base58btc", out data, out error), "base58btc (multibase z)", ref error),
            'f' => Named(TryDecodeDividingCore(body, 1, "0123456789abcdef", SimpleBase.Base16.LowerCase, "base16 lower-case", out data, out error), "base16 (multibase f)", ref error),
            'F' => Named(TryDecodeDividingCore(body, 1, "0123456789ABCDEF", SimpleBase.Base16.UpperCase, "base16 upper-case", out data, out error), "base16 upper (multibase F)", ref error),
            'k' => Named(TryDecodeDividingCore(body, 1, "0123456789abcdefghijklmnopqrstuvwxyz", SimpleBase.Base36.LowerCase, "base36 lower-case", out data, out error), "base36 (multibase k)", ref error),
            'K' => Named(TryDecodeDividingCore(body, 1, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", SimpleBase.Base36.UpperCase, "base36 upper-case", out data, out error), "base36 upper (multibase K)", ref error),
            'm' or 'M' => Named(TryDecodeBase64(body, urlSafe: false, out data, out error), $"base64 (multibase {prefix})", ref error),
            'u' or 'U' => Named(TryDecodeBase64(body, urlSafe: true, out data, out error), $"base64url (multibase {prefix})", ref error),
            _ => Unsupported(prefix, out data, out error),
        };
    }

    /// <summary>Decodes base58btc (the Bitcoin alphabet, no prefix), e.g. the text of a CIDv0.</summary>
    /// <param name="text">The characters.</param>
    /// <param name="data">The bytes (a leading '1' is a zero byte), or empty when this returns false.</param>
    /// <param name="error">Why decoding failed, or null.</param>
    /// <returns>True when every character is in the base58btc alphabet.</returns>
    public static bool TryDecodeBase58(ReadOnlySpan<char> text, out byte[] data, [NotNullWhen(false)] out string? error) =>
        TryDecodeDividingCore(text, 0, Base58Alphabet, SimpleBase.Base58.Bitcoin, "base58btc (0, O, I and l are not used)", out data, out error);

    private static bool Named(bool ok, string what, ref string? error)
    {
        if (!ok)
        {
            error = $"{what}: {error}";
        }

        return ok;
    }

    private static bool Unsupported(char prefix, out byte[] data, out string error)
    {
        data = [];
        var shown = char.IsControl(prefix) || char.IsWhiteSpace(prefix) ? $"U+{(int)prefix:X4}" : prefix.ToString();
        error = $"multibase prefix '{shown}' is not supported ({Supported}; or a CIDv0, Qm…)";
        return false;
    }

    private static bool TryDecodeBase32Upper(ReadOnlySpan<char> body, out byte[] data, [NotNullWhen(false)] out string? error)
    {
        data = [];
        for (var i = 0; i < body.Length; i++)
        {
            if (body[i] is >= 'a' and <= 'z')
            {
                error = $"base32 upper (multibase B): character '{body[i]}' at position {i + 2} is lower case";
                return false;
            }
        }

        Span<char> lower = stackalloc char[body.Length];
        body.ToLowerInvariant(lower);
        return Named(Base32.TryDecode(lower, out data, out error), "base32 upper (multibase B)", ref error);
    }

    private static bool TryDecodeDividingCore(ReadOnlySpan<char> body, int offset, string alphabet, SimpleBase.INonAllocatingBaseCoder coder, string alphabetName, out byte[] data, [NotNullWhen(false)] out string? error)
    {
        data = [];
        if (!CheckAlphabet(body, offset, alphabet, alphabetName, out error))
        {
            return false;
        }

        if (alphabet.Length == 16 && body.Length % 2 != 0)
        {
            error = $"{body.Length} characters is an odd number (two per byte)";
            return false;
        }

        // Base16, 36 and 58 all need at least one character per byte, so the text's length bounds the output.
        var buffer = new byte[body.Length];
        if (!coder.TryDecode(body, buffer, out var written))
        {
            error = "the text does not decode";
            return false;
        }

        data = buffer.AsSpan(0, written).ToArray();
        return true;
    }

    private static bool TryDecodeBase64(ReadOnlySpan<char> body, bool urlSafe, out byte[] data, [NotNullWhen(false)] out string? error)
    {
        data = [];
        var unpadded = body.TrimEnd('=');
        if (body.Length - unpadded.Length > 2)
        {
            error = "more than two padding characters";
            return false;
        }

        var alphabet = urlSafe
            ? "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
            : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        if (!CheckAlphabet(unpadded, 1, alphabet, urlSafe ? "base64url" : "base64", out error))
        {
            return false;
        }

        if (unpadded.Length % 4 == 1)
        {
            error = $"{unpadded.Length} characters cannot be base64 (length mod 4 = 1)";
            return false;
        }

        if (body.Length != unpadded.Length && body.Length % 4 != 0)
        {
            error = "padded text must be a multiple of 4 characters";
            return false;
        }

        var standard = new char[(unpadded.Length + 3) / 4 * 4];
        for (var i = 0; i < unpadded.Length; i++)
        {
            standard[i] = unpadded[i] switch { '-' => '+', '_' => '/', var c => c };
        }

        standard.AsSpan(unpadded.Length).Fill('=');
        var buffer = new byte[standard.Length / 4 * 3];
        if (!Convert.TryFromBase64Chars(standard, buffer, out var written)
            || !Convert.ToBase64String(buffer, 0, written).AsSpan().TrimEnd('=').SequenceEqual(standard.AsSpan(0, unpadded.Length)))
        {
            error = "non-zero trailing bits (not the canonical encoding of any bytes)";
            return false;
        }

        data = buffer.AsSpan(0, written).ToArray();
        return true;
    }

    /// <summary>Checks every character; the position in the message counts from 1 and adds <paramref name="offset"/> (1 after a multibase prefix).</summary>
    private static bool CheckAlphabet(ReadOnlySpan<char> text, int offset, string alphabet, string alphabetName, [NotNullWhen(false)] out string? error)
    {
        var bad = text.IndexOfAnyExcept(alphabet);
        if (bad >= 0)
        {
            var c = text[bad];
            var shown = char.IsControl(c) || char.IsWhiteSpace(c) ? $"U+{(int)c:X4}" : c.ToString();
            error = $"character '{shown}' at position {bad + 1 + offset} is not in the {alphabetName} alphabet";
            return false;
        }

        error = null;
        return true;
    }
}
