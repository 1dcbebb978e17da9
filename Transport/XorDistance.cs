using System.Numerics;

namespace Overlay.Transport;

/// <summary>
/// The XOR distance between two 256-bit IDs, as an unsigned 256-bit integer (Maymounkov &amp; Mazières 2002, §2.1):
/// d(x, y) = x ⊕ y. Ordering of distances is the ordering of these integers. Thread-safe (immutable value).
/// </summary>
public readonly record struct XorDistance : IComparable<XorDistance>
{
    private readonly ulong _w0, _w1, _w2, _w3;

    internal XorDistance(ulong w0, ulong w1, ulong w2, ulong w3)
    {
        _w0 = w0;
        _w1 = w1;
        _w2 = w2;
        _w3 = w3;
    }

    /// <summary>Gets whether the distance is zero (the two IDs are equal).</summary>
    public bool IsZero => (_w0 | _w1 | _w2 | _w3) == 0;

    /// <summary>Returns bit <paramref name="index"/> of the distance, 0 = the most significant of the 256.</summary>
    /// <param name="index">0..255.</param>
    /// <returns>Whether the two IDs differ in that bit.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is outside 0..255.</exception>
    public bool IsBitSet(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, 256);
        var word = (index >> 6) switch
        {
            0 => _w0,
            1 => _w1,
            2 => _w2,
            _ => _w3,
        };
        return ((word >> (63 - (index & 63))) & 1) != 0;
    }

    /// <summary>Gets the number of leading zero bits, 0..256: the common prefix length of the two IDs.</summary>
    public int LeadingZeroCount =>
        _w0 != 0 ? BitOperations.LeadingZeroCount(_w0)
        : _w1 != 0 ? 64 + BitOperations.LeadingZeroCount(_w1)
        : _w2 != 0 ? 128 + BitOperations.LeadingZeroCount(_w2)
        : _w3 != 0 ? 192 + BitOperations.LeadingZeroCount(_w3)
        : 256;

    /// <summary>Compares two distances as unsigned 256-bit integers.</summary>
    /// <param name="other">The other distance.</param>
    public int CompareTo(XorDistance other)
    {
        var c = _w0.CompareTo(other._w0);
        if (c != 0) return c;
        c = _w1.CompareTo(other._w1);
        if (c != 0) return c;
        c = _w2.CompareTo(other._w2);
        return c != 0 ? c : _w3.CompareTo(other._w3);
    }

    /// <summary>Returns whether <paramref name="left"/> is strictly smaller than <paramref name="right"/>.</summary>
    /// <param name="left">A distance.</param>
    /// <param name="right">Another distance.</param>
    public static bool operator <(XorDistance left, XorDistance right) => left.CompareTo(right) < 0;

    /// <summary>Returns whether <paramref name="left"/> is strictly greater than <paramref name="right"/>.</summary>
    /// <param name="left">A distance.</param>
    /// <param name="right">Another distance.</param>
    public static bool operator >(XorDistance left, XorDistance right) => left.CompareTo(right) > 0;

    /// <summary>Returns whether <paramref name="left"/> is smaller than or equal to <paramref name="right"/>.</summary>
    /// <param name="left">A distance.</param>
    /// <param name="right">Another distance.</param>
    public static bool operator <=(XorDistance left, XorDistance right) => left.CompareTo(right) <= 0;

    /// <summary>Returns whether <paramref name="left"/> is greater than or equal to <paramref name="right"/>.</summary>
    /// <param name="left">A distance.</param>
    /// <param name="right">Another distance.</param>
    public static bool operator >=(XorDistance left, XorDistance right) => left.CompareTo(right) >= 0;

    /// <summary>Returns the distance as 64 lowercase hexadecimal characters.</summary>
    public override string ToString() => $"{_w0:x16}{_w1:x16}{_w2:x16}{_w3:x16}";
}
