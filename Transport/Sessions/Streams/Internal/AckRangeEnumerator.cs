namespace Overlay.Transport.Sessions.Streams.Internal;

/// <summary>
/// Walks an ACK frame's ranges from the highest down (RFC 9000 §19.3.1): the first range is [largest − first, largest];
/// each (gap, length) pair then gives largest' = previous smallest − gap − 2 and smallest' = largest' − length. The
/// encoding was validated by <see cref="FrameReader"/>, so this never fails.
/// </summary>
internal ref struct AckRangeEnumerator
{
    private readonly ReadOnlySpan<byte> _pairs;
    private readonly int _count;
    private int _position;
    private int _index;
    private long _smallest;
    private long _largest;

    /// <summary>Creates the enumerator over a validated ACK frame.</summary>
    /// <param name="largest">Largest acknowledged packet number.</param>
    /// <param name="firstRange">First ACK range (packets below largest in the first range).</param>
    /// <param name="pairs">The encoded (gap, length) pairs.</param>
    /// <param name="count">Number of pairs.</param>
    public AckRangeEnumerator(long largest, long firstRange, ReadOnlySpan<byte> pairs, int count)
    {
        _pairs = pairs;
        _count = count;
        _index = -2;
        _largest = largest;
        _smallest = largest - firstRange;
    }

    /// <summary>Gets the current range: inclusive smallest and largest packet numbers.</summary>
    public readonly (long Smallest, long Largest) Current => (_smallest, _largest);

    /// <summary>Returns this enumerator (for foreach).</summary>
    /// <returns>This.</returns>
    public readonly AckRangeEnumerator GetEnumerator() => this;

    /// <summary>Moves to the next lower range.</summary>
    /// <returns>False after the last range.</returns>
    public bool MoveNext()
    {
        if (_index == -2)
        {
            _index = -1;
            return true;
        }

        if (++_index >= _count)
        {
            return false;
        }

        QuicVarint.TryRead(_pairs, ref _position, out var gap);
        QuicVarint.TryRead(_pairs, ref _position, out var length);
        _largest = _smallest - gap - 2;
        _smallest = _largest - length;
        return true;
    }
}
