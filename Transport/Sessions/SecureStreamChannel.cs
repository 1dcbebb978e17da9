using System.Buffers.Binary;
using Overlay.Transport.Sessions.Noise;

namespace Overlay.Transport.Sessions;

/// <summary>
/// A secure session over a reliable byte stream (TCP, the fallback path): the same <see cref="SecureHandshake"/> as
/// over UDP, then encrypted records. Every message on the stream is a 2-byte big-endian length and that many bytes
/// (the Noise spec's framing, §13, as libp2p's Noise over TCP does): the three handshake messages (the first starts
/// with the initiator's offered cipher suites, the second with the responder's choice), then records of AEAD
/// ciphertext under the negotiated suite (at most <see cref="MaxRecordPayloadBytes"/> of plaintext + 16), each under
/// the next counter nonce. A responder that shares no suite with the offer closes the stream. A record that fails to authenticate ends the channel with <see cref="InvalidDataException"/>, as a
/// corrupted TCP stream cannot be resynchronised. One reader and one writer may use it at once.
/// </summary>
public sealed class SecureStreamChannel : IAsyncDisposable
{
    /// <summary>Largest plaintext per record, bytes: 65,535 − 16 = 65,519.</summary>
    public const int MaxRecordPayloadBytes = ushort.MaxValue - CipherState.TagLength;

    /// <summary>Longest a handshake may take before the attempt fails: 10 s.</summary>
    public static readonly TimeSpan HandshakeTimeout = TimeSpan.FromSeconds(10);

    private readonly Stream _stream;
    private readonly CipherState _send;
    private readonly CipherState _receive;
    /// <summary>Records are encrypted here, back to back, and written with one call: 128 KiB, seven 16 KiB records.</summary>
    private readonly byte[] _sendBuffer = new byte[128 * 1024];

    /// <summary>Bytes read from the stream and not yet decrypted: 96 KiB, more than the largest frame (2 + 65,535
    /// bytes), so one read may bring several records and a partial one always fits after the consumed bytes are dropped.</summary>
    private readonly byte[] _readBuffer = new byte[96 * 1024];
    private int _readStart;
    private int _readEnd;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private int _disposed;

    private SecureStreamChannel(Stream stream, NodeId remoteId, byte[] handshakeHash, CipherState send, CipherState receive)
    {
        CipherSuite = send.Suite;
        _stream = stream;
        RemoteId = remoteId;
        HandshakeHash = handshakeHash;
        _send = send;
        _receive = receive;
    }

    /// <summary>Gets the peer's node ID, proven in the handshake.</summary>
    public NodeId RemoteId { get; }

    /// <summary>Gets the handshake hash (32 bytes), for channel binding.</summary>
    public byte[] HandshakeHash { get; }

    /// <summary>Gets the negotiated cipher suite: one of <see cref="SessionCipherSuites.AesGcm"/> and
    /// <see cref="SessionCipherSuites.ChaChaPoly"/>.</summary>
    public SessionCipherSuites CipherSuite { get; }

    /// <summary>Runs the handshake on <paramref name="stream"/> and returns the channel, which then owns the stream.</summary>
    /// <param name="stream">A connected stream; disposed if the handshake fails.</param>
    /// <param name="identity">This node's identity.</param>
    /// <param name="initiator">True on the connecting side.</param>
    /// <param name="expectedPeer">The node ID the initiator means to reach, or null.</param>
    /// <param name="timeProvider">The clock of <see cref="HandshakeTimeout"/>.</param>
    /// <param name="cipherSuites">The suites this side offers (initiator) or accepts (responder); null = ChaChaPoly,
    /// plus AesGcm when the CPU has AES instructions.</param>
    /// <param name="cancellationToken">Cancels the handshake.</param>
    /// <returns>The channel.</returns>
    /// <exception cref="ArgumentException"><paramref name="cipherSuites"/> is empty, has a reserved bit, or holds AesGcm
    /// on a CPU without AES instructions.</exception>
    /// <exception cref="SecureHandshakeException">The handshake failed (with the reason, e.g.
    /// <see cref="HandshakeFailure.UnsupportedSuite"/> on a responder that shares no suite with the offer) or timed out.</exception>
    /// <exception cref="IOException">The stream failed or ended (an initiator whose offer was refused sees the end).</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public static Task<SecureStreamChannel> EstablishAsync(Stream stream, NodeIdentity identity, bool initiator, NodeId? expectedPeer, TimeProvider timeProvider, SessionCipherSuites? cipherSuites = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(identity);
        return RunAsync(stream, new SecureHandshake(identity, initiator, expectedPeer, cipherSuites), initiator, timeProvider, cancellationToken);
    }

    /// <summary>As <see cref="EstablishAsync(Stream, NodeIdentity, bool, NodeId?, TimeProvider, SessionCipherSuites?, CancellationToken)"/>,
    /// proving this node with long-lived <paramref name="credentials"/> (a static key and a signed payload made once, as
    /// the UDP endpoint does) instead of making both for this one handshake: a key generation and a signature less.</summary>
    /// <param name="stream">A connected stream; disposed if the handshake fails.</param>
    /// <param name="credentials">This node's credentials; not owned.</param>
    /// <param name="initiator">True on the connecting side.</param>
    /// <param name="expectedPeer">The node ID the initiator means to reach, or null.</param>
    /// <param name="timeProvider">The clock of <see cref="HandshakeTimeout"/>.</param>
    /// <param name="cancellationToken">Cancels the handshake.</param>
    /// <returns>The channel.</returns>
    internal static Task<SecureStreamChannel> EstablishAsync(Stream stream, SessionCredentials credentials, bool initiator, NodeId? expectedPeer, TimeProvider timeProvider, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(credentials);
        return RunAsync(stream, new SecureHandshake(credentials, initiator, expectedPeer), initiator, timeProvider, cancellationToken);
    }

    private static async Task<SecureStreamChannel> RunAsync(Stream stream, SecureHandshake handshake, bool initiator, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        using var timeout = new CancellationTokenSource(HandshakeTimeout, timeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            var buffer = new byte[2 + ushort.MaxValue];
            while (!handshake.IsComplete)
            {
                if (handshake.IsMyTurnToWrite)
                {
                    var length = handshake.WriteMessage(buffer.AsSpan(2));
                    BinaryPrimitives.WriteUInt16BigEndian(buffer, (ushort)length);
                    await stream.WriteAsync(buffer.AsMemory(0, 2 + length), linked.Token).ConfigureAwait(false);
                    await stream.FlushAsync(linked.Token).ConfigureAwait(false);
                    if (!initiator || handshake.IsComplete)
                    {
                        continue;
                    }
                }

                var read = await ReadFrameAsync(stream, buffer, linked.Token).ConfigureAwait(false);
                var failure = handshake.ReadMessage(buffer.AsSpan(0, read));
                if (failure != HandshakeFailure.None)
                {
                    throw new SecureHandshakeException(failure);
                }
            }

            var (send, receive) = handshake.Split();
            return new SecureStreamChannel(stream, handshake.RemoteId!.Value, handshake.HandshakeHash.ToArray(), send, receive);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            await stream.DisposeAsync().ConfigureAwait(false);
            throw new SecureHandshakeException(HandshakeFailure.Malformed, $"no handshake within {HandshakeTimeout.TotalSeconds:0} s");
        }
        catch
        {
            await stream.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        finally
        {
            handshake.Dispose();
        }
    }

    /// <summary>Encrypts and writes one record.</summary>
    /// <param name="payload">At most <see cref="MaxRecordPayloadBytes"/> bytes.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>A task completing when the record is written.</returns>
    /// <exception cref="ArgumentException"><paramref name="payload"/> is too long.</exception>
    /// <exception cref="IOException">The stream failed.</exception>
    public async ValueTask WriteRecordAsync(ReadOnlyMemory<byte> payload, CancellationToken cancellationToken = default)
    {
        if (payload.Length > MaxRecordPayloadBytes)
        {
            throw new ArgumentException($"a record carries at most {MaxRecordPayloadBytes} bytes", nameof(payload));
        }

        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var length = SealRecord(payload.Span, 0);
            await _stream.WriteAsync(_sendBuffer.AsMemory(0, length), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>Encrypts several records, in order, and writes them with as few calls as the send buffer (128 KiB) allows.</summary>
    /// <param name="payloads">Each at most <see cref="MaxRecordPayloadBytes"/> bytes.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>A task completing when every record is written.</returns>
    /// <exception cref="ArgumentException">A payload is too long (nothing is written).</exception>
    /// <exception cref="IOException">The stream failed.</exception>
    public async ValueTask WriteRecordsAsync(ReadOnlyMemory<ReadOnlyMemory<byte>> payloads, CancellationToken cancellationToken = default)
    {
        foreach (var payload in payloads.Span)
        {
            if (payload.Length > MaxRecordPayloadBytes)
            {
                throw new ArgumentException($"a record carries at most {MaxRecordPayloadBytes} bytes", nameof(payloads));
            }
        }

        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var filled = 0;
            for (var i = 0; i < payloads.Length; i++)
            {
                var payload = payloads.Span[i];
                if (filled + 2 + payload.Length + CipherState.TagLength > _sendBuffer.Length)
                {
                    await _stream.WriteAsync(_sendBuffer.AsMemory(0, filled), cancellationToken).ConfigureAwait(false);
                    filled = 0;
                }

                filled += SealRecord(payload.Span, filled);
            }

            if (filled > 0)
            {
                await _stream.WriteAsync(_sendBuffer.AsMemory(0, filled), cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>Encrypts <paramref name="payload"/> as one framed record (2-byte big-endian length, ciphertext and tag)
    /// at <paramref name="at"/> in the send buffer (under the write lock); returns the frame's bytes.</summary>
    private int SealRecord(ReadOnlySpan<byte> payload, int at)
    {
        var length = _send.EncryptWithAd(default, payload, _sendBuffer.AsSpan(at + 2));
        BinaryPrimitives.WriteUInt16BigEndian(_sendBuffer.AsSpan(at), (ushort)length);
        return 2 + length;
    }

    /// <summary>Reads and decrypts the next record into <paramref name="destination"/>.</summary>
    /// <param name="destination">At least <see cref="MaxRecordPayloadBytes"/> bytes, or the largest record the peer sends.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The plaintext length; 0 only for an empty record. The end of the stream is an <see cref="EndOfStreamException"/>.</returns>
    /// <exception cref="InvalidDataException">A record did not authenticate: the channel is unusable.</exception>
    /// <exception cref="EndOfStreamException">The peer closed the stream.</exception>
    /// <exception cref="IOException">The stream failed.</exception>
    public async ValueTask<int> ReadRecordAsync(Memory<byte> destination, CancellationToken cancellationToken = default)
    {
        await FillAsync(2, cancellationToken).ConfigureAwait(false);
        var length = BinaryPrimitives.ReadUInt16BigEndian(_readBuffer.AsSpan(_readStart));
        await FillAsync(2 + length, cancellationToken).ConfigureAwait(false);
        var record = _readBuffer.AsSpan(_readStart + 2, length);
        _readStart += 2 + length;
        if (!_receive.TryDecryptWithAd(default, record, destination.Span, out var written))
        {
            throw new InvalidDataException($"a record of {length} bytes did not authenticate (tampered, or out of order)");
        }

        return written;
    }

    /// <summary>Reads from the stream until <paramref name="count"/> unconsumed bytes are buffered, taking whatever
    /// more the stream has ready (one read often brings several records).</summary>
    /// <exception cref="EndOfStreamException">The stream ended first.</exception>
    private async ValueTask FillAsync(int count, CancellationToken cancellationToken)
    {
        if (_readEnd - _readStart >= count)
        {
            return;
        }

        if (_readStart + count > _readBuffer.Length)
        {
            // Drop what was consumed so the whole frame fits (the buffer is larger than the largest frame).
            _readBuffer.AsSpan(_readStart, _readEnd - _readStart).CopyTo(_readBuffer);
            _readEnd -= _readStart;
            _readStart = 0;
        }

        while (_readEnd - _readStart < count)
        {
            var n = await _stream.ReadAsync(_readBuffer.AsMemory(_readEnd), cancellationToken).ConfigureAwait(false);
            if (n == 0)
            {
                throw new EndOfStreamException($"the stream ended {(_readEnd - _readStart == 0 ? "between records" : "inside a record")}");
            }

            _readEnd += n;
        }
    }

    /// <summary>Erases the keys and disposes the stream.</summary>
    /// <returns>A task completing when the stream is disposed.</returns>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stream.DisposeAsync().ConfigureAwait(false);
        _send.Dispose();
        _receive.Dispose();
        _writeLock.Dispose();
    }

    private static async ValueTask<int> ReadFrameAsync(Stream stream, byte[] buffer, CancellationToken cancellationToken)
    {
        await stream.ReadExactlyAsync(buffer.AsMemory(0, 2), cancellationToken).ConfigureAwait(false);
        var length = BinaryPrimitives.ReadUInt16BigEndian(buffer);
        await stream.ReadExactlyAsync(buffer.AsMemory(0, length), cancellationToken).ConfigureAwait(false);
        return length;
    }
}
