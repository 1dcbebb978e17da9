namespace Overlay.Transport.Sessions.Streams;

/// <summary>
/// The seam under a <see cref="StreamMuxConnection"/>: carries plaintext payloads with their packet numbers. The session
/// layer implements it over UDP (header, AEAD with the packet number as nonce, replay window: each number delivered at
/// most once) or over TCP (length-prefixed encrypted records, in order); tests use an in-memory link.
/// </summary>
public interface IPacketLink : IAsyncDisposable
{
    /// <summary>Gets the largest payload the link carries either way, bytes (1203 on UDP, 16384 on TCP).</summary>
    int MaxPayloadBytes { get; }

    /// <summary>
    /// Gets whether continuations of operations this link completes must leave its thread: true for a socket (its receive
    /// loop must keep draining), false for a simulation that runs everything on one thread in virtual time (as
    /// <see cref="IMessageTransport.RequiresAsynchronousContinuations"/>).
    /// </summary>
    bool RequiresAsynchronousContinuations { get; }

    /// <summary>Sends one payload under <paramref name="packetNumber"/>. May wait for room (TCP back-pressure); UDP drops rather than waits.</summary>
    /// <param name="payload">At most <see cref="MaxPayloadBytes"/> bytes; valid only until the returned task completes.</param>
    /// <param name="packetNumber">The number the multiplexer assigned: consecutive from 0.</param>
    /// <param name="cancellationToken">Cancels a wait for room.</param>
    /// <returns>A task that completes when the link has taken the payload.</returns>
    /// <exception cref="IOException">The link failed or closed; the connection closes.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    ValueTask SendAsync(ReadOnlyMemory<byte> payload, long packetNumber, CancellationToken cancellationToken = default);

    /// <summary>Waits for the next received payload (decrypted, replays dropped) and copies it into <paramref name="buffer"/>.</summary>
    /// <param name="buffer">At least <see cref="MaxPayloadBytes"/> bytes.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>The payload's length and packet number, or <see cref="LinkPacket.End"/> when the link closed.</returns>
    /// <exception cref="IOException">The link failed; treated as closed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    ValueTask<LinkPacket> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken = default);
}
