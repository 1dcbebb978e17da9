using System.Buffers;

namespace Overlay.Transport.Sessions.Streams.Internal;

/// <summary>
/// Bytes of one stream direction between a moving base offset and base + window, kept in 4 KiB pages from
/// <see cref="ArrayPool{T}.Shared"/> that are taken when first written and returned once the base passes them. Pages
/// sit in a ring of ⌈window / 4 KiB⌉ + 1 slots indexed by offset, so any offset in the window has exactly one slot and
/// memory never exceeds window + 4 KiB however the data arrives (in order, out of order, one byte here and there),
/// plus up to <see cref="MaxSparePages"/> pages passed by the base and kept for the next writes: a bulk stream frees
/// and takes a few pages per step, and handing them through the shared pool from whichever thread runs the loop missed
/// its per-thread caches and allocated (2 % of a UDP stream's CPU, measured). Not thread-safe.
/// </summary>
internal sealed class PagedWindow
{
    /// <summary>Page size, bytes: small enough that a stream's partly used edge pages cost little (2 × 4 KiB).</summary>
    public const int PageBytes = 4096;

    /// <summary>Most spare pages kept: 16 (64 KiB), what one batch of acknowledged or received packets passes.</summary>
    public const int MaxSparePages = 16;

    private readonly byte[]?[] _slots;
    private readonly Stack<byte[]> _spare = new();
    private readonly BufferAccount _account;
    private readonly bool _send;
    private long _base;

    /// <summary>Creates an empty window starting at offset 0.</summary>
    /// <param name="windowBytes">Most bytes above the base ever written, bytes (the flow-control window or send buffer cap).</param>
    /// <param name="account">Counts the pages held.</param>
    /// <param name="send">Which side of <paramref name="account"/> to count in.</param>
    public PagedWindow(long windowBytes, BufferAccount account, bool send)
    {
        _slots = new byte[]?[(int)((windowBytes + PageBytes - 1) / PageBytes) + 1];
        _account = account;
        _send = send;
    }

    /// <summary>Gets the lowest offset still held.</summary>
    public long Base => _base;

    /// <summary>Copies <paramref name="data"/> to stream offset <paramref name="offset"/>, taking pages as needed.</summary>
    /// <param name="offset">At least <see cref="Base"/>; offset + length at most base + window.</param>
    /// <param name="data">The bytes.</param>
    public void Write(long offset, ReadOnlySpan<byte> data)
    {
        while (!data.IsEmpty)
        {
            var page = Page(offset, allocate: true)!;
            var at = (int)(offset % PageBytes);
            var n = Math.Min(data.Length, PageBytes - at);
            data[..n].CopyTo(page.AsSpan(at));
            data = data[n..];
            offset += n;
        }
    }

    /// <summary>Copies bytes from stream offset <paramref name="offset"/> into <paramref name="destination"/>.</summary>
    /// <param name="offset">At least <see cref="Base"/>; the whole range must have been written.</param>
    /// <param name="destination">Receives destination.Length bytes.</param>
    public void CopyTo(long offset, Span<byte> destination)
    {
        while (!destination.IsEmpty)
        {
            var page = Page(offset, allocate: false)!;
            var at = (int)(offset % PageBytes);
            var n = Math.Min(destination.Length, PageBytes - at);
            page.AsSpan(at, n).CopyTo(destination);
            destination = destination[n..];
            offset += n;
        }
    }

    /// <summary>Moves the base up to <paramref name="newBase"/> and returns the pages wholly below it.</summary>
    /// <param name="newBase">The new base; lower values change nothing.</param>
    public void Advance(long newBase)
    {
        if (newBase <= _base)
        {
            return;
        }

        for (var page = _base / PageBytes; page < newBase / PageBytes; page++)
        {
            ReturnSlot(page);
        }

        _base = newBase;
    }

    /// <summary>Returns every page (the stream was reset or closed); the window is unusable afterwards.</summary>
    public void ReleaseAll()
    {
        for (var i = 0; i < _slots.Length; i++)
        {
            if (_slots[i] is { } page)
            {
                ArrayPool<byte>.Shared.Return(page);
                _slots[i] = null;
                _account.Add(_send, -PageBytes);
            }
        }

        while (_spare.TryPop(out var spare))
        {
            ArrayPool<byte>.Shared.Return(spare);
        }
    }

    private byte[]? Page(long offset, bool allocate)
    {
        var slot = (int)(offset / PageBytes % _slots.Length);
        if (_slots[slot] is null && allocate)
        {
            _slots[slot] = _spare.TryPop(out var spare) ? spare : ArrayPool<byte>.Shared.Rent(PageBytes);
            _account.Add(_send, PageBytes);
        }

        return _slots[slot];
    }

    private void ReturnSlot(long page)
    {
        var slot = (int)(page % _slots.Length);
        if (_slots[slot] is { } bytes)
        {
            if (_spare.Count < MaxSparePages)
            {
                _spare.Push(bytes);
            }
            else
            {
                ArrayPool<byte>.Shared.Return(bytes);
            }

            _slots[slot] = null;
            _account.Add(_send, -PageBytes);
        }
    }
}
