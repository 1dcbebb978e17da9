using System.Buffers;
using Overlay.Transport.Sessions.Streams;

namespace Overlay.Transport.Sessions;

/// <summary>
/// An <see cref="IPacketLink"/> over a <see cref="SecureStreamChannel"/>: the TCP session path. Each payload is one
/// encrypted record; records arrive in order and exactly once, so the packet number is a local count (the AEAD nonce is
/// the channel's own counter). Run a <see cref="StreamMuxConnection"/> on it with
/// <see cref="StreamMuxOptions.ForReliablePath"/> (16 KiB payloads, no acknowledgements or loss timers).
/// </summary>
public sealed class ChannelPacketLink : IPacketLink
{
    private readonly SecureStreamChannel _channel;
    private long _received;

    /// <summary>Wraps an established channel, which the link then owns.</summary>
    /// <param name="channel">The channel.</param>
    /// <param name="maxPayloadBytes">Largest payload either way, bytes: at most <see cref="SecureStreamChannel.MaxRecordPayloadBytes"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxPayloadBytes"/> is out of range.</exception>
    public ChannelPacketLink(SecureStreamChannel channel, int maxPayloadBytes = StreamMuxOptions.DefaultReliablePayloadBytes)
    {
        ArgumentNullException.ThrowIfNull(channel);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxPayloadBytes, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxPayloadBytes, SecureStreamChannel.MaxRecordPayloadBytes);
        _channel = channel;
        MaxPayloadBytes = maxPayloadBytes;
    }

    /// <inheritdoc />
    public int MaxPayloadBytes { get; }

    /// <inheritdoc />
    public bool RequiresAsynchronousContinuations => true;

    /// <summary>Gets the peer's proven node ID.</summary>
    public NodeId RemoteId => _channel.RemoteId;

    /// <inheritdoc />
    public ValueTask SendAsync(ReadOnlyMemory<byte> payload, long packetNumber, CancellationToken cancellationToken = default) =>
        _channel.WriteRecordAsync(payload, cancellationToken);

    /// <summary>Encrypts the payloads as records and writes them together (<see cref="SecureStreamChannel.WriteRecordsAsync"/>:
    /// up to seven 16 KiB records per write), waiting for room as TCP does.</summary>
    /// <param name="payloads">Each at most <see cref="MaxPayloadBytes"/> bytes.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>A task completing when every record is written.</returns>
    /// <exception cref="IOException">The connection failed.</exception>
    /// <exception cref="ArgumentException">A payload is longer than a record carries.</exception>
    public async ValueTask SendManyAsync(ReadOnlyMemory<LinkPayload> payloads, CancellationToken cancellationToken = default)
    {
        var records = ArrayPool<ReadOnlyMemory<byte>>.Shared.Rent(payloads.Length);
        try
        {
            for (var i = 0; i < payloads.Length; i++)
            {
                records[i] = payloads.Span[i].Payload;
            }

            await _channel.WriteRecordsAsync(records.AsMemory(0, payloads.Length), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<ReadOnlyMemory<byte>>.Shared.Return(records, clearArray: true);
        }
    }

    /// <inheritdoc />
    public async ValueTask<LinkPacket> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        try
        {
            while (true)
            {
                var length = await _channel.ReadRecordAsync(buffer, cancellationToken).ConfigureAwait(false);
                if (length > 0)
                {
                    return new LinkPacket(length, _received++);
                }
            }
        }
        catch (EndOfStreamException)
        {
            return LinkPacket.End;
        }
        catch (InvalidDataException ex)
        {
            // A record that does not authenticate: the link is broken, which the multiplexer takes as closed.
            throw new IOException(ex.Message, ex);
        }
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync() => _channel.DisposeAsync();
}
