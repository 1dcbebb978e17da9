namespace Overlay.Transport.Sessions.Streams.Internal;

/// <summary>
/// One stream's reassembly buffer: bytes received at any offset within the window above the read position, in pages
/// (<see cref="PagedWindow"/>), and the set of ranges received. The application reads the contiguous prefix. Memory is
/// at most the stream window plus one page; the number of out-of-order ranges is capped by the caller. Not thread-safe.
/// </summary>
internal sealed class ReceiveBuffer
{
    private readonly PagedWindow _data;
    private readonly RangeSet _received = new();
    private long _read;

    /// <summary>Creates an empty buffer.</summary>
    /// <param name="windowBytes">The stream receive window, bytes: no byte beyond read position + window is ever stored.</param>
    /// <param name="account">Counts the pages held.</param>
    public ReceiveBuffer(long windowBytes, BufferAccount account)
    {
        _data = new PagedWindow(windowBytes, account, send: false);
    }

    /// <summary>Gets the bytes the application has read (the read position).</summary>
    public long ReadOffset => _read;

    /// <summary>Gets how many bytes can be read now (the contiguous prefix at the read position).</summary>
    public long Available => !_received.IsEmpty && _received.Min <= _read ? _received[0].End - _read : 0;

    /// <summary>Gets how many disjoint ranges are held (1 when the data is contiguous).</summary>
    public int RangeCount => _received.Count;

    /// <summary>Stores <paramref name="data"/> received at <paramref name="offset"/>; bytes already read are ignored.</summary>
    /// <param name="offset">Stream offset of the first byte; the caller checked offset + length against the window.</param>
    /// <param name="data">The bytes.</param>
    /// <param name="maxRanges">Most disjoint ranges to hold.</param>
    /// <returns>False when storing would make more than <paramref name="maxRanges"/> ranges: nothing was stored.</returns>
    public bool TryInsert(long offset, ReadOnlySpan<byte> data, int maxRanges)
    {
        var end = offset + data.Length;
        if (end <= _read)
        {
            return true;
        }

        if (offset < _read)
        {
            data = data[(int)(_read - offset)..];
            offset = _read;
        }

        if (!_received.TryAdd(offset, end, maxRanges))
        {
            return false;
        }

        _data.Write(offset, data);
        return true;
    }

    /// <summary>Copies up to destination.Length readable bytes and moves the read position past them.</summary>
    /// <param name="destination">Where the bytes go.</param>
    /// <returns>Bytes copied, 0 when none is readable.</returns>
    public int Read(Span<byte> destination)
    {
        var n = (int)Math.Min(destination.Length, Available);
        if (n == 0)
        {
            return 0;
        }

        _data.CopyTo(_read, destination[..n]);
        _read += n;
        _received.RemoveBelow(_read);
        _data.Advance(_read);
        return n;
    }

    /// <summary>Drops everything held (reset, or the application stopped reading).</summary>
    public void Discard()
    {
        _received.Clear();
        _data.ReleaseAll();
    }
}
