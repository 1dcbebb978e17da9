using Overlay.Transport.Sessions.Streams.Internal;

namespace Overlay.Transport.Tests.Streams;

/// <summary>Hand-built payloads for feeding a core what a peer (honest or not) might send, and decoding what a core sent.</summary>
internal static class RawFrames
{
    public static byte[] Stream(long id, long offset, int length, bool fin = false)
    {
        var buffer = new byte[32 + length];
        var n = FrameWriter.WriteStreamHeader(buffer, id, offset, length, fin, explicitLength: true);
        return buffer[..(n + length)];
    }

    public static byte[] Simple(FrameType type, long a, long b = -1, long c = -1)
    {
        var buffer = new byte[32];
        return buffer[..FrameWriter.WriteSimple(buffer, type, a, b, c)];
    }

    public static byte[] Ack(params (long Start, long End)[] ranges)
    {
        var set = new RangeSet();
        foreach (var (start, end) in ranges)
        {
            set.TryAdd(start, end);
        }

        var buffer = new byte[1024];
        return buffer[..FrameWriter.WriteAck(buffer, set, 0, 256)];
    }

    /// <summary>Lists the frame types of a payload (STREAM frames as "Stream").</summary>
    public static List<FrameType> Types(ReadOnlySpan<byte> payload)
    {
        var types = new List<FrameType>();
        var reader = new FrameReader(payload);
        while (reader.TryRead(out var frame, out _))
        {
            types.Add(frame.Type);
        }

        return types;
    }

    /// <summary>Returns the ACK ranges (inclusive, highest first) of the first ACK frame in a payload, or null.</summary>
    public static List<(long Smallest, long Largest)>? AckRanges(ReadOnlySpan<byte> payload)
    {
        var reader = new FrameReader(payload);
        while (reader.TryRead(out var frame, out _))
        {
            if (frame.Type == FrameType.Ack)
            {
                var ranges = new List<(long, long)>();
                foreach (var range in frame.EnumerateAckRanges())
                {
                    ranges.Add(range);
                }

                return ranges;
            }
        }

        return null;
    }

    /// <summary>Returns the values of the frames of <paramref name="type"/> in a payload (stream id and value for per-stream ones).</summary>
    public static List<(long StreamId, long Value)> Values(ReadOnlySpan<byte> payload, FrameType type)
    {
        var values = new List<(long, long)>();
        var reader = new FrameReader(payload);
        while (reader.TryRead(out var frame, out _))
        {
            if (frame.Type == type)
            {
                values.Add((frame.StreamId, frame.Value));
            }
        }

        return values;
    }
}
