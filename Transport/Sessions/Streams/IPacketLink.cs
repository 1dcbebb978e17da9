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

    /// <summary>
    /// Gets whether <see cref="SendManyAsync"/> never waits: it completes before returning (or throws), as a UDP session
    /// does, which drops rather than waits. The connection's loop then sends what it builds itself, with no sender task
    /// and no queue between them. False by default (a TCP link waits for room).
    /// </summary>
    bool SendsWithoutWaiting => false;

    /// <summary>Sends one payload under <paramref name="packetNumber"/>. May wait for room (TCP back-pressure); UDP drops rather than waits.</summary>
    /// <param name="payload">At most <see cref="MaxPayloadBytes"/> bytes; valid only until the returned task completes.</param>
    /// <param name="packetNumber">The number the multiplexer assigned: consecutive from 0.</param>
    /// <param name="cancellationToken">Cancels a wait for room.</param>
    /// <returns>A task that completes when the link has taken the payload.</returns>
    /// <exception cref="IOException">The link failed or closed; the connection closes.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    ValueTask SendAsync(ReadOnlyMemory<byte> payload, long packetNumber, CancellationToken cancellationToken = default);

    /// <summary>
    /// Sends several payloads in order, as <see cref="SendAsync"/> each; a link may hand them to its socket together (a
    /// UDP session encrypts them under one lock and gives the socket one segmented send). The default sends them one by one.
    /// </summary>
    /// <param name="payloads">The payloads with their numbers, increasing; valid only until the returned task completes.</param>
    /// <param name="cancellationToken">Cancels a wait for room.</param>
    /// <returns>A task that completes when the link has taken every payload.</returns>
    /// <exception cref="IOException">The link failed or closed; the connection closes.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    async ValueTask SendManyAsync(ReadOnlyMemory<LinkPayload> payloads, CancellationToken cancellationToken = default)
    {
        for (var i = 0; i < payloads.Length; i++)
        {
            var item = payloads.Span[i];
            await SendAsync(item.Payload, item.PacketNumber, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Waits for the next received payload (decrypted, replays dropped) and copies it into <paramref name="buffer"/>.</summary>
    /// <param name="buffer">At least <see cref="MaxPayloadBytes"/> bytes.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>The payload's length and packet number, or <see cref="LinkPacket.End"/> when the link closed.</returns>
    /// <exception cref="IOException">The link failed; treated as closed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    ValueTask<LinkPacket> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken = default);

    /// <summary>
    /// Gets whether the link can be drained without waiting (<see cref="TryReceive"/>) and tells of arrivals through the
    /// callback given to <see cref="StartNotifying"/>, so the connection's loop takes payloads itself, with no receiver
    /// task between them. False by default.
    /// </summary>
    bool CanNotify => false;

    /// <summary>
    /// From now on, calls <paramref name="onArrival"/> when a payload arrives to an empty queue and when the link ends
    /// (on the link's thread, outside its locks; the callback must not block). Call once, before <see cref="TryReceive"/>.
    /// </summary>
    /// <param name="onArrival">The callback.</param>
    /// <exception cref="NotSupportedException"><see cref="CanNotify"/> is false.</exception>
    void StartNotifying(Action onArrival) => throw new NotSupportedException("This link delivers through ReceiveAsync only.");

    /// <summary>Takes the next received payload if one is queued, as <see cref="ReceiveAsync"/> without the wait.</summary>
    /// <param name="buffer">At least <see cref="MaxPayloadBytes"/> bytes.</param>
    /// <param name="packet">The payload's length and number, or <see cref="LinkPacket.End"/> once the link was closed by this side.</param>
    /// <returns>False when nothing is queued and the link is open.</returns>
    /// <exception cref="IOException">The link failed; treated as closed.</exception>
    /// <exception cref="NotSupportedException"><see cref="CanNotify"/> is false.</exception>
    bool TryReceive(Memory<byte> buffer, out LinkPacket packet) => throw new NotSupportedException("This link delivers through ReceiveAsync only.");
}
