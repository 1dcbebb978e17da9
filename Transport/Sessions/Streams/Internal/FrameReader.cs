namespace Overlay.Transport.Sessions.Streams.Internal;

/// <summary>
/// Decodes the frames of one packet payload, in order. Untrusted bytes never throw: a malformed frame ends the walk with
/// a reason (the caller closes the connection with FRAME_ENCODING_ERROR, RFC 9000 §12.4, §20.1). A run of PADDING
/// bytes is returned as one <see cref="FrameType.Padding"/> frame.
/// </summary>
internal ref struct FrameReader
{
    /// <summary>ACK delay exponent: the delay field counts units of 2^3 = 8 µs (RFC 9000 §18.2's default; ours is fixed).</summary>
    public const int AckDelayExponent = 3;

    /// <summary>Longest CONNECTION_CLOSE reason, bytes of UTF-8 (ours; QUIC bounds it only by the packet).</summary>
    public const int MaxReasonBytes = 128;

    /// <summary>Largest MAX_STREAMS value: 2^60 (RFC 9000 §19.11), so a stream id stays below 2^62.</summary>
    public const long MaxStreamCount = 1L << 60;

    private readonly ReadOnlySpan<byte> _payload;
    private int _position;

    /// <summary>Creates a reader at the start of <paramref name="payload"/>.</summary>
    /// <param name="payload">One packet's plaintext payload.</param>
    public FrameReader(ReadOnlySpan<byte> payload)
    {
        _payload = payload;
        _position = 0;
    }

    /// <summary>Reads the next frame.</summary>
    /// <param name="frame">The frame when true is returned.</param>
    /// <param name="error">Null at the end of the payload; otherwise why the frame is malformed (a constant string).</param>
    /// <returns>True when a frame was read; false at the end or on a malformed frame (see <paramref name="error"/>).</returns>
    public bool TryRead(out Frame frame, out string? error)
    {
        frame = default;
        error = null;
        if (_position >= _payload.Length)
        {
            return false;
        }

        var type = _payload[_position++];
        if (type == (byte)FrameType.Padding)
        {
            while (_position < _payload.Length && _payload[_position] == 0)
            {
                _position++;
            }

            frame.Type = FrameType.Padding;
            return true;
        }

        if (type is >= 0x08 and <= 0x0f)
        {
            return TryReadStream(type, out frame, out error);
        }

        switch ((FrameType)type)
        {
            case FrameType.Ack:
                return TryReadAck(out frame, out error);
            case FrameType.ConnectionClose or FrameType.ApplicationClose:
                return TryReadClose((FrameType)type, out frame, out error);
        }

        frame.Type = (FrameType)type;
        var ok = frame.Type switch
        {
            FrameType.Ping => true,
            FrameType.ResetStream => Next(out frame.StreamId) && Next(out frame.ErrorCode) && Next(out frame.Value),
            FrameType.StopSending => Next(out frame.StreamId) && Next(out frame.ErrorCode),
            FrameType.MaxData or FrameType.DataBlocked => Next(out frame.Value),
            FrameType.MaxStreamData or FrameType.StreamDataBlocked => Next(out frame.StreamId) && Next(out frame.Value),
            FrameType.MaxStreams => Next(out frame.Value) && (frame.Value <= MaxStreamCount || Fail(out error, "MAX_STREAMS above 2^60")),
            _ => Fail(out error, "unknown frame type"),
        };
        if (!ok)
        {
            error ??= "frame truncated";
        }

        return ok;
    }

    private static bool Fail(out string error, string reason)
    {
        error = reason;
        return false;
    }

    private bool Next(out long value) => QuicVarint.TryRead(_payload, ref _position, out value);

    private bool TryReadStream(byte type, out Frame frame, out string? error)
    {
        frame = default;
        error = null;
        frame.Type = FrameType.Stream;
        frame.Fin = (type & 0x01) != 0;
        if (!Next(out frame.StreamId) || ((type & 0x04) != 0 && !Next(out frame.Offset)))
        {
            return Fail(out error, "STREAM frame truncated");
        }

        long length = _payload.Length - _position;
        if ((type & 0x02) != 0 && (!Next(out length) || length > _payload.Length - _position))
        {
            return Fail(out error, "STREAM length beyond the payload");
        }

        if (frame.Offset + length > QuicVarint.MaxValue)
        {
            return Fail(out error, "STREAM data beyond 2^62 - 1");
        }

        frame.Data = _payload.Slice(_position, (int)length);
        _position += (int)length;
        return true;
    }

    private bool TryReadAck(out Frame frame, out string? error)
    {
        frame = default;
        frame.Type = FrameType.Ack;
        error = null;
        if (!Next(out frame.LargestAcknowledged) || !Next(out frame.AckDelay) || !Next(out var count) || !Next(out frame.FirstAckRange))
        {
            return Fail(out error, "ACK frame truncated");
        }

        var smallest = frame.LargestAcknowledged - frame.FirstAckRange;
        if (smallest < 0)
        {
            return Fail(out error, "ACK first range below packet 0");
        }

        // Each pair is at least two bytes, so a count beyond that cannot be honest (and fits an int after this check).
        if (count > (_payload.Length - _position) / 2)
        {
            return Fail(out error, "ACK range count beyond the payload");
        }

        var start = _position;
        for (var i = 0; i < count; i++)
        {
            if (!Next(out var gap) || !Next(out var length))
            {
                return Fail(out error, "ACK range truncated");
            }

            var largest = smallest - gap - 2;
            smallest = largest - length;
            if (largest < 0 || smallest < 0)
            {
                return Fail(out error, "ACK range below packet 0");
            }
        }

        frame.AckRangeCount = (int)count;
        frame.AckRanges = _payload[start.._position];
        return true;
    }

    private bool TryReadClose(FrameType type, out Frame frame, out string? error)
    {
        frame = default;
        frame.Type = type;
        error = null;
        if (!Next(out frame.ErrorCode) || !Next(out var length))
        {
            return Fail(out error, "CONNECTION_CLOSE truncated");
        }

        if (length > MaxReasonBytes || length > _payload.Length - _position)
        {
            return Fail(out error, "CONNECTION_CLOSE reason too long");
        }

        frame.Reason = _payload.Slice(_position, (int)length);
        _position += (int)length;
        return true;
    }
}
