namespace Overlay.Transport.Sessions.Streams.Internal;

/// <summary>
/// One stream's outgoing bytes from the lowest unacknowledged offset to the last byte written, and what became of each
/// range: sent once (below <see cref="NextNew"/>), acknowledged, or declared lost and waiting to be sent again. Data,
/// not packets, is retransmitted (RFC 9000 §13.3): a lost range goes out in whatever packet comes next, under a new
/// packet number. Memory is at most the cap given at construction plus one page. Not thread-safe.
/// </summary>
internal sealed class SendBuffer
{
    private readonly PagedWindow _data;
    private readonly RangeSet _lost = new();
    private readonly RangeSet _ackedAbove = new();
    private long _acked;
    private long _written;
    private long _nextNew;
    private long _finOffset = -1;
    private bool _finSent;
    private bool _finAcked;
    private bool _finLost;

    /// <summary>Creates an empty buffer.</summary>
    /// <param name="capBytes">Most bytes written and not yet acknowledged, bytes.</param>
    /// <param name="account">Counts the pages held.</param>
    public SendBuffer(long capBytes, BufferAccount account)
    {
        _data = new PagedWindow(capBytes, account, send: true);
    }

    /// <summary>Gets the bytes written by the application (the next write's offset).</summary>
    public long Written => _written;

    /// <summary>Gets the bytes held: written and not yet acknowledged.</summary>
    public long Buffered => _written - _acked;

    /// <summary>Gets one past the highest offset ever sent: what flow control counts (RFC 9000 §4.1).</summary>
    public long NextNew => _nextNew;

    /// <summary>Gets whether the application finished the stream (FIN queued or sent).</summary>
    public bool IsFinished => _finOffset >= 0;

    /// <summary>Gets whether any range or the FIN is waiting to be sent again.</summary>
    public bool HasLost => !_lost.IsEmpty || _finLost;

    /// <summary>Gets whether every byte and the FIN have been acknowledged (the "Data Recvd" state, RFC 9000 §3.1).</summary>
    public bool AllAcknowledged => _finAcked && _acked == _finOffset;

    /// <summary>Gets whether every byte and the FIN have been sent at least once.</summary>
    public bool AllSent => _finSent && _nextNew == _finOffset;

    /// <summary>Appends application bytes; the caller checked the cap.</summary>
    /// <param name="data">The bytes.</param>
    public void Append(ReadOnlySpan<byte> data)
    {
        _data.Write(_written, data);
        _written += data.Length;
    }

    /// <summary>Ends the stream after the bytes written so far.</summary>
    public void Finish() => _finOffset = _written;

    /// <summary>Returns how many never-sent bytes may go now, given the flow-control limit.</summary>
    /// <param name="limit">Highest stream offset the peer allows (MAX_STREAM_DATA), bytes.</param>
    /// <returns>Bytes, ≥ 0.</returns>
    public long NewBytesAvailable(long limit) => Math.Max(0, Math.Min(_written, limit) - _nextNew);

    /// <summary>Returns whether a FIN with no new data is waiting to be sent for the first time.</summary>
    /// <returns>True when all data has been sent but the FIN has not.</returns>
    public bool PendingFinOnly() => _finOffset >= 0 && !_finSent && _nextNew == _finOffset;

    /// <summary>Returns whether a new frame starting at <see cref="NextNew"/> with <paramref name="length"/> bytes carries the FIN.</summary>
    /// <param name="length">Bytes of new data in the frame.</param>
    /// <returns>True when it reaches the end of a finished stream.</returns>
    public bool NewChunkEndsStream(int length) => _finOffset >= 0 && _nextNew + length == _finOffset;

    /// <summary>Returns the first range waiting to be sent again, cut to <paramref name="maxLength"/> bytes.</summary>
    /// <param name="maxLength">Most data bytes the packet has room for.</param>
    /// <param name="offset">Stream offset of the first byte.</param>
    /// <param name="length">Bytes (0 for a lone FIN).</param>
    /// <param name="fin">Whether the chunk carries the FIN.</param>
    /// <returns>False when nothing is waiting.</returns>
    public bool TryPeekLost(int maxLength, out long offset, out int length, out bool fin)
    {
        if (!_lost.IsEmpty)
        {
            var (start, end) = _lost[0];
            offset = start;
            length = (int)Math.Min(end - start, maxLength);
            fin = _finLost && offset + length == _finOffset;
            return length > 0;
        }

        offset = _finOffset;
        length = 0;
        fin = _finLost;
        return _finLost;
    }

    /// <summary>Copies stream bytes for a frame.</summary>
    /// <param name="offset">First byte; not yet acknowledged.</param>
    /// <param name="destination">Receives destination.Length bytes.</param>
    public void CopyTo(long offset, Span<byte> destination) => _data.CopyTo(offset, destination);

    /// <summary>Records that a frame with this range went out.</summary>
    /// <param name="offset">First byte.</param>
    /// <param name="length">Bytes.</param>
    /// <param name="fin">Whether it carried the FIN.</param>
    public void OnSent(long offset, int length, bool fin)
    {
        if (offset == _nextNew)
        {
            _nextNew += length;
        }
        else
        {
            _lost.Remove(offset, offset + length);
        }

        if (fin)
        {
            _finSent = true;
            _finLost = false;
        }
    }

    /// <summary>Records that the peer acknowledged a range; frees pages below the lowest unacknowledged byte.</summary>
    /// <param name="offset">First byte.</param>
    /// <param name="length">Bytes.</param>
    /// <param name="fin">Whether the acknowledged frame carried the FIN.</param>
    public void OnAcked(long offset, int length, bool fin)
    {
        var end = offset + length;
        if (fin)
        {
            _finAcked = true;
            _finLost = false;
        }

        if (end <= _acked)
        {
            return;
        }

        _lost.Remove(offset, end);
        _ackedAbove.TryAdd(Math.Max(offset, _acked), end);
        if (_ackedAbove.Min <= _acked)
        {
            _acked = _ackedAbove[0].End;
            _ackedAbove.RemoveFirst();
            _data.Advance(_acked);
        }
    }

    /// <summary>Queues a range carried by a lost packet for sending again, except the parts acknowledged since.</summary>
    /// <param name="offset">First byte.</param>
    /// <param name="length">Bytes.</param>
    /// <param name="fin">Whether the lost frame carried the FIN.</param>
    public void OnLost(long offset, int length, bool fin)
    {
        if (fin && !_finAcked)
        {
            _finLost = true;
        }

        var start = Math.Max(offset, _acked);
        var end = offset + length;
        if (end <= start)
        {
            return;
        }

        _lost.TryAdd(start, end);
        for (var i = 0; i < _ackedAbove.Count; i++)
        {
            var (s, e) = _ackedAbove[i];
            if (s >= end)
            {
                break;
            }

            if (e > start)
            {
                _lost.Remove(s, e);
            }
        }
    }

    /// <summary>Drops everything (the stream was reset): nothing will be sent or retransmitted again.</summary>
    public void Discard()
    {
        _lost.Clear();
        _ackedAbove.Clear();
        _finLost = false;
        _acked = _written;
        _data.ReleaseAll();
    }
}
