namespace Overlay.Transport.Sessions.Streams.Internal;

/// <summary>
/// A set of non-negative integers kept as sorted, disjoint, non-touching half-open ranges [start, end): received packet
/// numbers (for ACK frames), received stream offsets (reassembly), acknowledged and lost stream offsets (send side).
/// Adding at the top (the common case: the next packet, the next bytes) is O(1); elsewhere O(log n) to find and O(n) to
/// shift. Callers bound the range count (<c>maxRanges</c> in <see cref="TryAdd"/>). Not thread-safe.
/// </summary>
internal sealed class RangeSet
{
    private Range[] _items = new Range[4];
    private int _count;

    /// <summary>Gets the number of disjoint ranges.</summary>
    public int Count => _count;

    /// <summary>Gets whether the set is empty.</summary>
    public bool IsEmpty => _count == 0;

    /// <summary>Gets the smallest member; only when not empty.</summary>
    public long Min => _items[0].Start;

    /// <summary>Gets one past the largest member; only when not empty.</summary>
    public long Max => _items[_count - 1].End;

    /// <summary>Gets range <paramref name="index"/>, ascending: start inclusive, end exclusive.</summary>
    /// <param name="index">0 ..&lt; <see cref="Count"/>.</param>
    public (long Start, long End) this[int index] => (_items[index].Start, _items[index].End);

    /// <summary>Returns whether <paramref name="value"/> is in the set.</summary>
    /// <param name="value">Any value.</param>
    /// <returns>True when some range holds it.</returns>
    public bool Contains(long value)
    {
        var i = FirstEndingAfter(value);
        return i < _count && _items[i].Start <= value;
    }

    /// <summary>Adds [<paramref name="start"/>, <paramref name="end"/>), merging with ranges it overlaps or touches.</summary>
    /// <param name="start">First value.</param>
    /// <param name="end">One past the last value; an empty range (end ≤ start) changes nothing.</param>
    /// <param name="maxRanges">Refuse the add (leaving the set unchanged) if it would make more ranges than this.</param>
    /// <returns>False only when refused by <paramref name="maxRanges"/>.</returns>
    public bool TryAdd(long start, long end, int maxRanges = int.MaxValue)
    {
        if (end <= start)
        {
            return true;
        }

        if (_count == 0 || _items[_count - 1].End < start)
        {
            if (_count >= maxRanges)
            {
                return false;
            }

            Insert(_count, new Range(start, end));
            return true;
        }

        // First range that overlaps or touches [start, end): its end reaches start.
        var first = FirstEndingAtOrAfter(start);
        if (_items[first].Start > end)
        {
            if (_count >= maxRanges)
            {
                return false;
            }

            Insert(first, new Range(start, end));
            return true;
        }

        var last = first;
        while (last + 1 < _count && _items[last + 1].Start <= end)
        {
            last++;
        }

        var merged = new Range(Math.Min(start, _items[first].Start), Math.Max(end, _items[last].End));
        _items[first] = merged;
        RemoveAt(first + 1, last - first);
        return true;
    }

    /// <summary>Removes [<paramref name="start"/>, <paramref name="end"/>), splitting a range it falls inside (one more range at most).</summary>
    /// <param name="start">First value.</param>
    /// <param name="end">One past the last value.</param>
    public void Remove(long start, long end)
    {
        if (end <= start || _count == 0 || end <= _items[0].Start || start >= _items[_count - 1].End)
        {
            return;
        }

        var i = FirstEndingAfter(start);
        while (i < _count && _items[i].Start < end)
        {
            var item = _items[i];
            if (item.Start < start && item.End > end)
            {
                _items[i] = new Range(item.Start, start);
                Insert(i + 1, new Range(end, item.End));
                return;
            }

            if (item.Start < start)
            {
                _items[i] = new Range(item.Start, start);
                i++;
            }
            else if (item.End > end)
            {
                _items[i] = new Range(end, item.End);
                return;
            }
            else
            {
                RemoveAt(i, 1);
            }
        }
    }

    /// <summary>Removes every value below <paramref name="value"/>.</summary>
    /// <param name="value">The new lower bound.</param>
    public void RemoveBelow(long value)
    {
        if (_count > 0 && _items[0].Start < value)
        {
            Remove(_items[0].Start, value);
        }
    }

    /// <summary>Removes the lowest range (to keep a bounded set of the most recent ranges).</summary>
    public void RemoveFirst()
    {
        if (_count > 0)
        {
            RemoveAt(0, 1);
        }
    }

    /// <summary>Removes everything.</summary>
    public void Clear() => _count = 0;

    /// <summary>Index of the first range with End &gt; value (so it may contain value), or Count.</summary>
    private int FirstEndingAfter(long value)
    {
        int lo = 0, hi = _count;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (_items[mid].End > value)
            {
                hi = mid;
            }
            else
            {
                lo = mid + 1;
            }
        }

        return lo;
    }

    /// <summary>Index of the first range with End ≥ value (it contains or touches value), or Count.</summary>
    private int FirstEndingAtOrAfter(long value) => value == long.MinValue ? 0 : FirstEndingAfter(value - 1);

    private void Insert(int index, Range item)
    {
        if (_count == _items.Length)
        {
            Array.Resize(ref _items, _items.Length * 2);
        }

        Array.Copy(_items, index, _items, index + 1, _count - index);
        _items[index] = item;
        _count++;
    }

    private void RemoveAt(int index, int length)
    {
        if (length <= 0)
        {
            return;
        }

        Array.Copy(_items, index + length, _items, index, _count - index - length);
        _count -= length;
    }

    private readonly record struct Range(long Start, long End);
}
