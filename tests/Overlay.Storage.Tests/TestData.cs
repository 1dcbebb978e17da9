namespace Overlay.Storage.Tests;

/// <summary>Deterministic inputs shared with golden/golden.mjs.</summary>
internal static class TestData
{
    /// <summary>byte[i] = (i*31+7) % 251, the "mod251" generator of the golden script.</summary>
    public static byte Mod251(long i) => (byte)(((i * 31) + 7) % 251);

    public static byte[] Bytes(string generator, int size)
    {
        var b = new byte[size];
        if (generator == "mod251")
        {
            for (int i = 0; i < size; i++)
            {
                b[i] = Mod251(i);
            }
        }

        return b;
    }
}

/// <summary>A read-only stream producing a generated sequence without holding it in memory.</summary>
internal sealed class GeneratedStream(string generator, long length) : Stream
{
    private long _position;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => length;
    public override long Position { get => _position; set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count)
    {
        int n = (int)Math.Min(count, length - _position);
        if (generator == "mod251")
        {
            for (int i = 0; i < n; i++)
            {
                buffer[offset + i] = TestData.Mod251(_position + i);
            }
        }
        else
        {
            Array.Clear(buffer, offset, n);
        }

        _position += n;
        return n;
    }

    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
