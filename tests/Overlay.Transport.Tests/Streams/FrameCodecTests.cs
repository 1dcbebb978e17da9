using Overlay.Transport.Sessions.Streams;
using Overlay.Transport.Sessions.Streams.Internal;

namespace Overlay.Transport.Tests.Streams;

/// <summary>The frame codec: varints (RFC 9000 §16), every frame type round-tripped, ACK ranges, limits, and fuzzing.</summary>
public sealed class FrameCodecTests
{
    [Theory]
    [InlineData(0L, 1)]
    [InlineData(63L, 1)]
    [InlineData(64L, 2)]
    [InlineData(16_383L, 2)]
    [InlineData(16_384L, 4)]
    [InlineData(1_073_741_823L, 4)]
    [InlineData(1_073_741_824L, 8)]
    [InlineData(QuicVarint.MaxValue, 8)]
    public void Varint_RoundTripsAtEveryLengthBoundary(long value, int length)
    {
        var buffer = new byte[8];
        Assert.Equal(length, QuicVarint.SizeOf(value));
        Assert.Equal(length, QuicVarint.Write(buffer, value));
        var position = 0;
        Assert.True(QuicVarint.TryRead(buffer.AsSpan(0, length), ref position, out var read));
        Assert.Equal(value, read);
        Assert.Equal(length, position);
        position = 0;
        Assert.False(QuicVarint.TryRead(buffer.AsSpan(0, length - 1), ref position, out _));
        Assert.Equal(0, position);
    }

    [Fact]
    public void Varint_AcceptsNonMinimalEncodings_AsRfc9000Section16Requires()
    {
        // RFC 9000 §A.1's example: 0x4025 (two bytes) decodes to 37, as does 0x25.
        var position = 0;
        Assert.True(QuicVarint.TryRead([0x40, 0x25], ref position, out var value));
        Assert.Equal(37, value);
        position = 0;
        Assert.True(QuicVarint.TryRead([0x9d, 0x7f, 0x3e, 0x7d], ref position, out value));
        Assert.Equal(494_878_333, value);
    }

    [Fact]
    public void ControlFrames_RoundTrip()
    {
        var buffer = new byte[256];
        var n = 0;
        n += FrameWriter.WritePing(buffer.AsSpan(n));
        n += FrameWriter.WriteSimple(buffer.AsSpan(n), FrameType.ResetStream, 9, 77, 123_456);
        n += FrameWriter.WriteSimple(buffer.AsSpan(n), FrameType.StopSending, 10, 5);
        n += FrameWriter.WriteSimple(buffer.AsSpan(n), FrameType.MaxData, 16L << 20);
        n += FrameWriter.WriteSimple(buffer.AsSpan(n), FrameType.MaxStreamData, 4, 1L << 40);
        n += FrameWriter.WriteSimple(buffer.AsSpan(n), FrameType.MaxStreams, 300);
        n += FrameWriter.WriteSimple(buffer.AsSpan(n), FrameType.DataBlocked, 1L << 20);
        n += FrameWriter.WriteSimple(buffer.AsSpan(n), FrameType.StreamDataBlocked, 6, 262_144);
        n += FrameWriter.WriteClose(buffer.AsSpan(n), application: true, 42, "bye, ünïcode"u8);
        n += FrameWriter.WriteClose(buffer.AsSpan(n), application: false, (long)StreamMuxError.FlowControlError, []);
        buffer[n++] = 0; // PADDING
        buffer[n++] = 0;
        var reader = new FrameReader(buffer.AsSpan(0, n));
        var frames = new List<string>();
        while (reader.TryRead(out var f, out var error))
        {
            frames.Add(f.Type switch
            {
                FrameType.ResetStream => $"reset {f.StreamId} {f.ErrorCode} {f.Value}",
                FrameType.StopSending => $"stop {f.StreamId} {f.ErrorCode}",
                FrameType.MaxStreamData or FrameType.StreamDataBlocked => $"{f.Type} {f.StreamId} {f.Value}",
                FrameType.ConnectionClose or FrameType.ApplicationClose => $"{f.Type} {f.ErrorCode} '{System.Text.Encoding.UTF8.GetString(f.Reason)}'",
                _ => $"{f.Type} {f.Value}",
            });
            Assert.Null(error);
        }

        Assert.Equal(
            [
                "Ping 0", "reset 9 77 123456", "stop 10 5", "MaxData 16777216", "MaxStreamData 4 1099511627776", "MaxStreams 300",
                "DataBlocked 1048576", "StreamDataBlocked 6 262144", "ApplicationClose 42 'bye, ünïcode'", "ConnectionClose 3 ''", "Padding 0",
            ],
            frames);
    }

    [Theory]
    [InlineData(0L, 10, false, true)]
    [InlineData(0L, 0, true, true)]
    [InlineData(1_000_000L, 100, true, false)]
    [InlineData(QuicVarint.MaxValue - 5, 5, true, true)]
    public void StreamFrame_RoundTrips_WithAndWithoutOffsetAndLength(long offset, int length, bool fin, bool explicitLength)
    {
        var data = Enumerable.Range(0, length).Select(i => (byte)i).ToArray();
        var buffer = new byte[64 + length];
        var header = FrameWriter.WriteStreamHeader(buffer, 12, offset, length, fin, explicitLength);
        Assert.Equal(FrameWriter.StreamHeaderSize(12, offset, length, explicitLength), header);
        data.CopyTo(buffer, header);
        var total = header + length;
        if (explicitLength)
        {
            total += FrameWriter.WritePing(buffer.AsSpan(total));
        }

        var reader = new FrameReader(buffer.AsSpan(0, total));
        Assert.True(reader.TryRead(out var frame, out _));
        Assert.Equal(FrameType.Stream, frame.Type);
        Assert.Equal(12, frame.StreamId);
        Assert.Equal(offset, frame.Offset);
        Assert.Equal(fin, frame.Fin);
        Assert.Equal(data, frame.Data.ToArray());
        Assert.Equal(explicitLength, reader.TryRead(out var ping, out _) && ping.Type == FrameType.Ping);
    }

    [Fact]
    public void AckFrame_ReportsTheHighestRanges_WithinItsCapAndSpace()
    {
        var received = new RangeSet();
        long[][] ranges = [[0, 3], [5, 6], [9, 20], [22, 23], [100, 1000]];
        foreach (var r in ranges)
        {
            received.TryAdd(r[0], r[1]);
        }

        Assert.Equal([(100L, 999L), (22L, 22L), (9L, 19L), (5L, 5L), (0L, 2L)], DecodeAck(received, maxRanges: 32, space: 100));
        Assert.Equal([(100L, 999L), (22L, 22L), (9L, 19L)], DecodeAck(received, maxRanges: 3, space: 100));

        // Room for the fixed part and one pair only: the lower ranges are left out, never a malformed frame.
        Assert.Equal([(100L, 999L), (22L, 22L)], DecodeAck(received, maxRanges: 32, space: 11));
    }

    [Theory]
    [InlineData(new byte[] { 0x02, 0x05, 0x00, 0x00, 0x06 }, "ACK first range below packet 0")]
    [InlineData(new byte[] { 0x02, 0x05, 0x00, 0x01, 0x00, 0x04, 0x00 }, "ACK range below packet 0")]
    [InlineData(new byte[] { 0x02, 0x05, 0x00, 0x3f, 0x00 }, "ACK range count beyond the payload")]
    [InlineData(new byte[] { 0x0a, 0x04, 0x05, 0x01 }, "STREAM length beyond the payload")]
    [InlineData(new byte[] { 0x12, 0xd0, 0, 0, 0, 0, 0, 0, 1 }, "MAX_STREAMS above 2^60")]
    [InlineData(new byte[] { 0x13 }, "unknown frame type")]
    [InlineData(new byte[] { 0x04, 0x01, 0x02 }, "frame truncated")]
    [InlineData(new byte[] { 0x1c, 0x00, 0x05, 0x61 }, "CONNECTION_CLOSE reason too long")]
    public void MalformedFrames_AreReportedWithAReason(byte[] payload, string reason)
    {
        var reader = new FrameReader(payload);
        Assert.False(reader.TryRead(out _, out var error));
        Assert.Equal(reason, error);
    }

    [Fact]
    public void StreamData_EndingBeyond2To62_IsMalformed()
    {
        var buffer = new byte[32];
        var n = FrameWriter.WriteStreamHeader(buffer, 0, QuicVarint.MaxValue, 2, false, true);
        var reader = new FrameReader(buffer.AsSpan(0, n + 2));
        Assert.False(reader.TryRead(out _, out var error));
        Assert.Equal("STREAM data beyond 2^62 - 1", error);
    }

    [Fact]
    public void CloseReason_Of128BytesIsAccepted_129IsNot()
    {
        var buffer = new byte[200];
        var n = FrameWriter.WriteClose(buffer, true, 1, new byte[128]);
        var reader = new FrameReader(buffer.AsSpan(0, n));
        Assert.True(reader.TryRead(out var frame, out _));
        Assert.Equal(128, frame.Reason.Length);
        n = FrameWriter.WriteClose(buffer, true, 1, new byte[129]);
        reader = new FrameReader(buffer.AsSpan(0, n));
        Assert.False(reader.TryRead(out _, out _));
    }

    [Fact]
    public void RandomAndMutatedPayloads_NeverThrow_InTheReaderOrTheCore()
    {
        var random = new Random(90);
        var valid = ValidPayloads();
        var payload = new byte[1300];
        var closedWithEncodingError = 0;
        for (var i = 0; i < 20_000; i++)
        {
            int length;
            if (i % 2 == 0)
            {
                length = random.Next(0, 64);
                random.NextBytes(payload.AsSpan(0, length));
            }
            else
            {
                var source = valid[random.Next(valid.Count)];
                source.CopyTo(payload, 0);
                length = source.Length;
                for (var flips = random.Next(1, 4); flips > 0; flips--)
                {
                    payload[random.Next(length)] ^= (byte)(1 << random.Next(8));
                }

                length = random.Next(2) == 0 ? length : random.Next(length + 1);
            }

            var reader = new FrameReader(payload.AsSpan(0, length));
            while (reader.TryRead(out _, out _))
            {
            }

            var mux = new StreamMux(isClient: i % 4 < 2, new StreamMuxOptions { Mode = i % 8 < 4 ? StreamPathMode.Datagram : StreamPathMode.Reliable });
            if (!mux.TryReceive(payload.AsSpan(0, length), i, TimeSpan.FromMilliseconds(i), out var error))
            {
                Assert.True(mux.IsClosed);
                closedWithEncodingError += error == StreamMuxError.FrameEncodingError ? 1 : 0;
                var close = new byte[1300];
                Assert.True(mux.PollTransmit(close, TimeSpan.FromMilliseconds(i), out _) > 0);
            }
        }

        Assert.True(closedWithEncodingError > 1_000, $"only {closedWithEncodingError} payloads were malformed");
    }

    private static List<byte[]> ValidPayloads()
    {
        var a = new MuxPairCapture();
        return a.Payloads;
    }

    private static List<(long, long)> DecodeAck(RangeSet received, int maxRanges, int space)
    {
        var buffer = new byte[space];
        var n = FrameWriter.WriteAck(buffer, received, 17, maxRanges);
        Assert.True(n > 0);
        var reader = new FrameReader(buffer.AsSpan(0, n));
        Assert.True(reader.TryRead(out var frame, out _));
        Assert.Equal(17, frame.AckDelay);
        var result = new List<(long, long)>();
        foreach (var range in frame.EnumerateAckRanges())
        {
            result.Add(range);
        }

        return result;
    }
}
