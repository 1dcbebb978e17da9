namespace Overlay.Transport.Sessions.Streams.Internal;

/// <summary>
/// One decoded frame, valid only while the payload it was read from is: spans point into it. Which fields are set
/// depends on <see cref="Type"/> (the others are zero). Produced by <see cref="FrameReader"/>, already validated.
/// </summary>
internal ref struct Frame
{
    /// <summary>The frame type; STREAM frames of any flag combination are <see cref="FrameType.Stream"/>.</summary>
    public FrameType Type;

    /// <summary>Stream id (STREAM, RESET_STREAM, STOP_SENDING, MAX_STREAM_DATA, STREAM_DATA_BLOCKED).</summary>
    public long StreamId;

    /// <summary>STREAM: offset of the first data byte in the stream (0 when the OFF bit is clear), bytes.</summary>
    public long Offset;

    /// <summary>STREAM: the data (to the end of the payload when the LEN bit is clear).</summary>
    public ReadOnlySpan<byte> Data;

    /// <summary>STREAM: the FIN bit (the stream ends at <see cref="Offset"/> + data length).</summary>
    public bool Fin;

    /// <summary>RESET_STREAM, STOP_SENDING, CONNECTION_CLOSE: the error code.</summary>
    public long ErrorCode;

    /// <summary>
    /// The frame's one number: RESET_STREAM final size (bytes), MAX_DATA and MAX_STREAM_DATA maximum (bytes), MAX_STREAMS
    /// count, DATA_BLOCKED and STREAM_DATA_BLOCKED limit (bytes).
    /// </summary>
    public long Value;

    /// <summary>ACK: largest packet number acknowledged.</summary>
    public long LargestAcknowledged;

    /// <summary>ACK: the ack delay in units of 2^<see cref="FrameReader.AckDelayExponent"/> µs (8 µs).</summary>
    public long AckDelay;

    /// <summary>ACK: packets below <see cref="LargestAcknowledged"/> acknowledged with it (first range).</summary>
    public long FirstAckRange;

    /// <summary>ACK: number of (gap, length) pairs in <see cref="AckRanges"/>.</summary>
    public int AckRangeCount;

    /// <summary>ACK: the encoded (gap, length) pairs, validated (no range goes below packet number 0).</summary>
    public ReadOnlySpan<byte> AckRanges;

    /// <summary>CONNECTION_CLOSE: the reason, UTF-8, at most <see cref="FrameReader.MaxReasonBytes"/> bytes.</summary>
    public ReadOnlySpan<byte> Reason;

    /// <summary>Enumerates this ACK frame's ranges, highest first, as inclusive (smallest, largest) packet numbers.</summary>
    /// <returns>The enumerator.</returns>
    public readonly AckRangeEnumerator EnumerateAckRanges() => new(LargestAcknowledged, FirstAckRange, AckRanges, AckRangeCount);
}
