using System.IO.Pipelines;

namespace Overlay.Testing.Streams;

/// <summary>
/// Two connected in-memory byte streams, each the other's peer, built on two <see cref="Pipe"/>s. Each direction holds at
/// most <c>bufferBytes</c> unread before a writer waits, so a slow reader back-pressures its writer as a socket does.
/// Disposing one end ends the other end's reads (0 bytes: end of stream) and makes its writes fail with
/// <see cref="IOException"/>, like a closed TCP connection.
/// </summary>
public static class InMemoryStreamPair
{
    /// <summary>Default unread bytes per direction before the writer waits: 64 KiB.</summary>
    public const int DefaultBufferBytes = 64 * 1024;

    /// <summary>Creates a connected pair.</summary>
    /// <param name="bufferBytes">Unread bytes per direction before a writer waits; at least 1.</param>
    /// <returns>The two ends.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="bufferBytes"/> is below 1.</exception>
    public static (Stream A, Stream B) Create(int bufferBytes = DefaultBufferBytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(bufferBytes, 1);
        var options = new PipeOptions(pauseWriterThreshold: bufferBytes, resumeWriterThreshold: (bufferBytes / 2) + 1, useSynchronizationContext: false);
        var aToB = new Pipe(options);
        var bToA = new Pipe(options);
        return (new DuplexPipeStream(bToA.Reader, aToB.Writer), new DuplexPipeStream(aToB.Reader, bToA.Writer));
    }

    /// <summary>One end: reads from one pipe, writes to the other.</summary>
    private sealed class DuplexPipeStream(PipeReader reader, PipeWriter writer) : Stream
    {
        private readonly Stream _input = reader.AsStream();
        private readonly Stream _output = writer.AsStream();
        private int _disposed;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => _input.Read(buffer, offset, count);

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => _input.ReadAsync(buffer, cancellationToken);

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => _input.ReadAsync(buffer, offset, count, cancellationToken);

        public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var result = await writer.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
            if (result.IsCompleted)
            {
                throw new IOException("the peer closed the stream");
            }
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Flush()
        {
        }

        public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing && Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                // Completing the reader makes the peer's next write see IsCompleted; completing the writer ends its reads.
                reader.Complete();
                writer.Complete();
                _input.Dispose();
                _output.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
