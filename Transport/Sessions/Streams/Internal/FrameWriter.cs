namespace Overlay.Transport.Sessions.Streams.Internal;

/// <summary>
/// Encodes frames into a packet being built (layouts in ARCHITECTURE.md, "Sessions: streams"). Each method writes the
/// whole frame and returns its length, or writes nothing and returns 0 when <c>destination</c> is too short, so a
/// packet builder can try a frame and move on.
/// </summary>
internal static class FrameWriter
{
    /// <summary>Writes a frame made of a type byte and one to three varints (every control frame but ACK and CONNECTION_CLOSE).</summary>
    /// <param name="destination">Space left in the packet.</param>
    /// <param name="type">The frame type.</param>
    /// <param name="a">First field.</param>
    /// <param name="b">Second field, or −1 for none.</param>
    /// <param name="c">Third field, or −1 for none.</param>
    /// <returns>Bytes written, or 0 when it does not fit.</returns>
    public static int WriteSimple(Span<byte> destination, FrameType type, long a, long b = -1, long c = -1)
    {
        var size = 1 + QuicVarint.SizeOf(a) + (b >= 0 ? QuicVarint.SizeOf(b) : 0) + (c >= 0 ? QuicVarint.SizeOf(c) : 0);
        if (size > destination.Length)
        {
            return 0;
        }

        destination[0] = (byte)type;
        var n = 1 + QuicVarint.Write(destination[1..], a);
        if (b >= 0)
        {
            n += QuicVarint.Write(destination[n..], b);
        }

        if (c >= 0)
        {
            n += QuicVarint.Write(destination[n..], c);
        }

        return n;
    }

    /// <summary>Writes a PING frame (one byte).</summary>
    /// <param name="destination">Space left in the packet.</param>
    /// <returns>1, or 0 when there is no room.</returns>
    public static int WritePing(Span<byte> destination)
    {
        if (destination.IsEmpty)
        {
            return 0;
        }

        destination[0] = (byte)FrameType.Ping;
        return 1;
    }

    /// <summary>Returns the length of a STREAM frame header (type, id, offset when not 0, and length when explicit).</summary>
    /// <param name="streamId">Stream id.</param>
    /// <param name="offset">Offset of the first byte, bytes.</param>
    /// <param name="length">Data length, bytes (only its varint size matters).</param>
    /// <param name="explicitLength">Whether the LEN field is present; without it the data runs to the payload's end.</param>
    /// <returns>Header bytes.</returns>
    public static int StreamHeaderSize(long streamId, long offset, int length, bool explicitLength) =>
        1 + QuicVarint.SizeOf(streamId) + (offset > 0 ? QuicVarint.SizeOf(offset) : 0) + (explicitLength ? QuicVarint.SizeOf(length) : 0);

    /// <summary>Writes a STREAM frame header; the caller copies the <paramref name="length"/> data bytes right after it.</summary>
    /// <param name="destination">At least <see cref="StreamHeaderSize"/> bytes.</param>
    /// <param name="streamId">Stream id.</param>
    /// <param name="offset">Offset of the first byte; the OFF bit is set only when it is not 0.</param>
    /// <param name="length">Data length, bytes.</param>
    /// <param name="fin">Whether the stream ends with this data (FIN bit).</param>
    /// <param name="explicitLength">Whether to write the LEN field (false only for the payload's last frame).</param>
    /// <returns>Header bytes written.</returns>
    public static int WriteStreamHeader(Span<byte> destination, long streamId, long offset, int length, bool fin, bool explicitLength)
    {
        destination[0] = (byte)((byte)FrameType.Stream | (offset > 0 ? 0x04 : 0) | (explicitLength ? 0x02 : 0) | (fin ? 0x01 : 0));
        var n = 1 + QuicVarint.Write(destination[1..], streamId);
        if (offset > 0)
        {
            n += QuicVarint.Write(destination[n..], offset);
        }

        if (explicitLength)
        {
            n += QuicVarint.Write(destination[n..], length);
        }

        return n;
    }

    /// <summary>
    /// Writes an ACK frame for the highest ranges of <paramref name="received"/> (RFC 9000 §19.3): as many as fit and at
    /// most <paramref name="maxRanges"/>, so lower ranges are left for later frames (or never reported).
    /// </summary>
    /// <param name="destination">Space left in the packet.</param>
    /// <param name="received">Received packet numbers, not empty.</param>
    /// <param name="ackDelay">Ack delay in units of 8 µs (<see cref="FrameReader.AckDelayExponent"/>).</param>
    /// <param name="maxRanges">Most ranges to report, ≥ 1.</param>
    /// <returns>Bytes written, or 0 when not even the first range fits.</returns>
    public static int WriteAck(Span<byte> destination, RangeSet received, long ackDelay, int maxRanges)
    {
        var top = received[received.Count - 1];
        var largest = top.End - 1;
        var first = largest - top.Start;
        var ranges = Math.Min(maxRanges, received.Count) - 1;

        // Shrink the number of extra ranges until the frame fits.
        Span<int> pairSizes = stackalloc int[Math.Max(ranges, 0)];
        var smallest = top.Start;
        var pairsTotal = 0;
        for (var i = 0; i < ranges; i++)
        {
            var range = received[received.Count - 2 - i];
            var gap = smallest - range.End - 1;
            var length = range.End - 1 - range.Start;
            pairSizes[i] = QuicVarint.SizeOf(gap) + QuicVarint.SizeOf(length);
            smallest = range.Start;
            pairsTotal += pairSizes[i];
        }

        var fixedSize = 1 + QuicVarint.SizeOf(largest) + QuicVarint.SizeOf(ackDelay) + QuicVarint.SizeOf(first);
        while (ranges > 0 && fixedSize + QuicVarint.SizeOf(ranges) + pairsTotal > destination.Length)
        {
            pairsTotal -= pairSizes[--ranges];
        }

        if (fixedSize + QuicVarint.SizeOf(ranges) + pairsTotal > destination.Length)
        {
            return 0;
        }

        destination[0] = (byte)FrameType.Ack;
        var n = 1 + QuicVarint.Write(destination[1..], largest);
        n += QuicVarint.Write(destination[n..], ackDelay);
        n += QuicVarint.Write(destination[n..], ranges);
        n += QuicVarint.Write(destination[n..], first);
        smallest = top.Start;
        for (var i = 0; i < ranges; i++)
        {
            var range = received[received.Count - 2 - i];
            n += QuicVarint.Write(destination[n..], smallest - range.End - 1);
            n += QuicVarint.Write(destination[n..], range.End - 1 - range.Start);
            smallest = range.Start;
        }

        return n;
    }

    /// <summary>Writes a CONNECTION_CLOSE frame (transport 0x1c or application 0x1d).</summary>
    /// <param name="destination">Space left in the packet.</param>
    /// <param name="application">True for an application error (0x1d).</param>
    /// <param name="errorCode">The error code, 0 ..= 2^62 − 1.</param>
    /// <param name="reason">UTF-8 reason, at most <see cref="FrameReader.MaxReasonBytes"/> bytes.</param>
    /// <returns>Bytes written, or 0 when it does not fit.</returns>
    public static int WriteClose(Span<byte> destination, bool application, long errorCode, ReadOnlySpan<byte> reason)
    {
        var size = 1 + QuicVarint.SizeOf(errorCode) + QuicVarint.SizeOf(reason.Length) + reason.Length;
        if (size > destination.Length)
        {
            return 0;
        }

        destination[0] = (byte)(application ? FrameType.ApplicationClose : FrameType.ConnectionClose);
        var n = 1 + QuicVarint.Write(destination[1..], errorCode);
        n += QuicVarint.Write(destination[n..], reason.Length);
        reason.CopyTo(destination[n..]);
        return n + reason.Length;
    }
}
