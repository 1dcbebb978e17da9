namespace Overlay.Testing.Streams;

/// <summary>
/// Drops packet numbers seen before, as the session layer's replay window does (RFC 4303 §3.4.3's sliding window):
/// a number above the highest seen is accepted and slides the window; one inside it is accepted once; one below it is
/// dropped. Not thread-safe.
/// </summary>
/// <param name="windowSize">Numbers remembered below the highest, a multiple of 64. Default 4096.</param>
public sealed class ReplayFilter(int windowSize = 4096)
{
    private readonly ulong[] _bits = new ulong[windowSize / 64];
    private long _highest = -1;

    /// <summary>Gets how many packets were dropped as replays or too old.</summary>
    public long Dropped { get; private set; }

    /// <summary>Returns whether <paramref name="packetNumber"/> is new, and remembers it.</summary>
    /// <param name="packetNumber">The number, ≥ 0.</param>
    /// <returns>False for a replay or a number below the window.</returns>
    public bool Accept(long packetNumber)
    {
        var size = _bits.Length * 64L;
        if (packetNumber > _highest)
        {
            for (var n = Math.Max(_highest + 1, packetNumber - size + 1); n <= packetNumber; n++)
            {
                Clear(n);
            }

            _highest = packetNumber;
            Set(packetNumber);
            return true;
        }

        if (packetNumber <= _highest - size || IsSet(packetNumber))
        {
            Dropped++;
            return false;
        }

        Set(packetNumber);
        return true;
    }

    private bool IsSet(long n) => (_bits[(n / 64) % _bits.Length] & (1UL << (int)(n % 64))) != 0;

    private void Set(long n) => _bits[(n / 64) % _bits.Length] |= 1UL << (int)(n % 64);

    private void Clear(long n) => _bits[(n / 64) % _bits.Length] &= ~(1UL << (int)(n % 64));
}
