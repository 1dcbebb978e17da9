using System.Buffers.Binary;
using Google.Protobuf;

namespace Overlay.Exchange.Internal;

/// <summary>Length-prefixed frames: 4-byte big-endian payload length, then the payload (a protobuf message).</summary>
internal static class Framing
{
    /// <summary>
    /// Reads one frame. Returns null on a clean end of stream before the first header byte; throws
    /// <see cref="InvalidDataException"/> for a frame above <paramref name="maxFrameBytes"/> or a truncated frame.
    /// </summary>
    public static async ValueTask<byte[]?> ReadFrameAsync(Stream stream, int maxFrameBytes, CancellationToken cancellationToken)
    {
        var header = new byte[4];
        int got = await stream.ReadAtLeastAsync(header, 4, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
        if (got == 0)
        {
            return null;
        }

        if (got < 4)
        {
            throw new InvalidDataException($"truncated frame header ({got} of 4 bytes)");
        }

        uint length = BinaryPrimitives.ReadUInt32BigEndian(header);
        if (length > (uint)maxFrameBytes)
        {
            throw new InvalidDataException($"frame of {length} bytes exceeds the limit of {maxFrameBytes}");
        }

        var payload = new byte[length];
        got = await stream.ReadAtLeastAsync(payload, (int)length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
        if (got < length)
        {
            throw new InvalidDataException($"truncated frame ({got} of {length} bytes)");
        }

        return payload;
    }

    /// <summary>Serializes <paramref name="message"/> into one frame and writes and flushes it.</summary>
    /// <exception cref="InvalidDataException">The message is larger than <paramref name="maxFrameBytes"/>.</exception>
    public static async ValueTask WriteFrameAsync(Stream stream, IMessage message, int maxFrameBytes, CancellationToken cancellationToken)
    {
        var buffer = Encode(message, maxFrameBytes);
        await stream.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
        await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Serializes <paramref name="message"/> into one frame: 4-byte big-endian length, then the message.</summary>
    /// <returns>A new array of 4 + the message's size bytes.</returns>
    /// <exception cref="InvalidDataException">The message is larger than <paramref name="maxFrameBytes"/>.</exception>
    public static byte[] Encode(IMessage message, int maxFrameBytes)
    {
        int size = message.CalculateSize();
        if (size > maxFrameBytes)
        {
            throw new InvalidDataException($"message of {size} bytes exceeds the frame limit of {maxFrameBytes}");
        }

        var buffer = new byte[4 + size];
        BinaryPrimitives.WriteUInt32BigEndian(buffer, (uint)size);
        message.WriteTo(buffer.AsSpan(4));
        return buffer;
    }
}
