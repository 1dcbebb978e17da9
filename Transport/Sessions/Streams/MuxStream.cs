using Overlay.Transport.Sessions.Streams.Internal;

namespace Overlay.Transport.Sessions.Streams;

/// <summary>
/// One bidirectional stream of a <see cref="StreamMuxConnection"/> as a <see cref="Stream"/>. Asynchronous only
/// (the synchronous Read and Write throw <see cref="NotSupportedException"/>: they would block a thread on the
/// connection's loop). One read and one write may be outstanding at once, as with a socket.
/// </summary>
/// <remarks>
/// <see cref="WriteAsync(ReadOnlyMemory{byte}, CancellationToken)"/> completes when the multiplexer has taken every
/// byte into its send buffer (bounded: a slow reader holds the writer back, RFC 9000 §4). Disposing finishes the send
/// half (FIN) if still open and stops the receive half (STOP_SENDING, code 0) if not read to its end;
/// <see cref="Abort"/> resets both halves with a code. Thread-safe in the sense of <see cref="Stream"/>.
/// </remarks>
public sealed class MuxStream : Stream
{
    private readonly StreamMuxConnection _owner;
    private int _disposed;
    private int _aborted;

    /// <summary>Creates the handle of stream <paramref name="streamId"/>; only the connection does.</summary>
    /// <param name="owner">The connection.</param>
    /// <param name="streamId">The stream id.</param>
    internal MuxStream(StreamMuxConnection owner, long streamId)
    {
        _owner = owner;
        StreamId = streamId;
    }

    /// <summary>Gets the stream id (even: opened by the client side; odd: by the server side).</summary>
    public long StreamId { get; }

    /// <inheritdoc/>
    public override bool CanRead => true;

    /// <inheritdoc/>
    public override bool CanWrite => true;

    /// <inheritdoc/>
    public override bool CanSeek => false;

    /// <summary>Not supported: a stream has no length.</summary>
    /// <exception cref="NotSupportedException">Always.</exception>
    public override long Length => throw new NotSupportedException("A multiplexed stream has no length.");

    /// <summary>Not supported: a stream has no position.</summary>
    /// <exception cref="NotSupportedException">Always.</exception>
    public override long Position
    {
        get => throw new NotSupportedException("A multiplexed stream has no position.");
        set => throw new NotSupportedException("A multiplexed stream has no position.");
    }

    /// <summary>Gets or sets the pending read (the connection's loop only).</summary>
    internal MuxOperation? PendingRead { get; set; }

    /// <summary>Gets or sets the pending write (the connection's loop only).</summary>
    internal MuxOperation? PendingWrite { get; set; }

    /// <summary>Gets or sets whether a read returned the end of the stream (the connection's loop only).</summary>
    internal bool ReadEnded { get; set; }

    /// <summary>Gets or sets whether the send half was finished or aborted (the connection's loop only).</summary>
    internal bool WriteEnded { get; set; }

    /// <summary>Gets or sets the peer's RESET_STREAM code once a read saw it, so later reads fail alike (the connection's loop only).</summary>
    internal long? PeerResetCode { get; set; }

    /// <summary>Gets or sets the peer's STOP_SENDING code, so writes fail with it even after the core forgot the stream (the connection's loop only).</summary>
    internal long? PeerStopCode { get; set; }

    /// <summary>Reads up to buffer.Length bytes; 0 at the end of the stream.</summary>
    /// <param name="buffer">Destination.</param>
    /// <param name="cancellationToken">Cancels the wait; bytes already copied are never lost to a cancellation.</param>
    /// <returns>Bytes read; 0 when the peer finished the stream and everything was read.</returns>
    /// <exception cref="StreamMuxException">The peer reset the stream, or the connection closed.</exception>
    /// <exception cref="InvalidOperationException">Another read is outstanding.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        _owner.ReadAsync(this, buffer, cancellationToken);

    /// <inheritdoc/>
    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <summary>Writes all of <paramref name="buffer"/>; completes when the multiplexer has buffered it (not when acknowledged).</summary>
    /// <param name="buffer">Bytes to send.</param>
    /// <param name="cancellationToken">Cancels the wait for room; part of the bytes may have been taken.</param>
    /// <returns>A task that completes when every byte was taken.</returns>
    /// <exception cref="StreamMuxException">The peer stopped the stream (STOP_SENDING), or the connection closed.</exception>
    /// <exception cref="InvalidOperationException">Another write is outstanding, or the send half was finished.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
        _owner.WriteAsync(this, buffer, cancellationToken);

    /// <inheritdoc/>
    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <summary>Waits until earlier writes reached the packet builder and a transmit pass ran (data is always sent as soon as windows allow; this does not wait for acknowledgements).</summary>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>A task.</returns>
    public override Task FlushAsync(CancellationToken cancellationToken) => _owner.FlushAsync(this, cancellationToken).AsTask();

    /// <summary>Finishes the send half (FIN) after what was written; the receive half stays open.</summary>
    /// <param name="cancellationToken">Cancels the wait for the connection's input queue.</param>
    /// <returns>A task that completes when the loop took the request.</returns>
    /// <exception cref="StreamMuxException">The connection closed.</exception>
    public ValueTask CompleteWritesAsync(CancellationToken cancellationToken = default) =>
        _owner.EnqueueAsync(MuxOperationKind.Finish, this, 0, cancellationToken);

    /// <summary>Abandons both halves: RESET_STREAM and STOP_SENDING with <paramref name="errorCode"/>; pending operations fail. Only the first call counts.</summary>
    /// <param name="errorCode">The application's code, 0 ..= 2^62 − 1.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="errorCode"/> is out of range.</exception>
    public void Abort(long errorCode)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan((ulong)errorCode, (ulong)QuicVarint.MaxValue, nameof(errorCode));
        if (Interlocked.Exchange(ref _aborted, 1) == 0)
        {
            _owner.Post(MuxOperationKind.Abort, this, errorCode);
        }
    }

    /// <summary>Not supported: use <see cref="ReadAsync(Memory{byte}, CancellationToken)"/>.</summary>
    /// <param name="buffer">Unused.</param>
    /// <param name="offset">Unused.</param>
    /// <param name="count">Unused.</param>
    /// <returns>Never.</returns>
    /// <exception cref="NotSupportedException">Always.</exception>
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException("Use ReadAsync: a synchronous read would block a thread on the connection's loop.");

    /// <summary>Not supported: use <see cref="WriteAsync(ReadOnlyMemory{byte}, CancellationToken)"/>.</summary>
    /// <param name="buffer">Unused.</param>
    /// <param name="offset">Unused.</param>
    /// <param name="count">Unused.</param>
    /// <exception cref="NotSupportedException">Always.</exception>
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException("Use WriteAsync: a synchronous write would block a thread on the connection's loop.");

    /// <summary>Does nothing: data is sent as soon as the windows allow.</summary>
    public override void Flush()
    {
    }

    /// <summary>Not supported.</summary>
    /// <param name="offset">Unused.</param>
    /// <param name="origin">Unused.</param>
    /// <returns>Never.</returns>
    /// <exception cref="NotSupportedException">Always.</exception>
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException("A multiplexed stream cannot seek.");

    /// <summary>Not supported.</summary>
    /// <param name="value">Unused.</param>
    /// <exception cref="NotSupportedException">Always.</exception>
    public override void SetLength(long value) => throw new NotSupportedException("A multiplexed stream has no length.");

    /// <summary>Finishes the send half and stops an unfinished receive half (never blocks: the request is queued for the loop).</summary>
    /// <param name="disposing">True from Dispose.</param>
    protected override void Dispose(bool disposing)
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _owner.Post(MuxOperationKind.Release, this, 0);
        }

        base.Dispose(disposing);
    }
}
