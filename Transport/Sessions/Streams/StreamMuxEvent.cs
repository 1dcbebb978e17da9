namespace Overlay.Transport.Sessions.Streams;

/// <summary>
/// Something the owner of a <see cref="StreamMux"/> should act on, from <see cref="StreamMux.TryDequeueEvent"/>. At most
/// one event of each kind per stream is queued at a time, so the queue is bounded by the number of streams.
/// </summary>
/// <param name="Kind">What happened.</param>
/// <param name="StreamId">The stream, or −1 for connection events.</param>
/// <param name="ErrorCode">The peer's application error code for <see cref="StreamMuxEventKind.StreamStopped"/>; 0 otherwise.</param>
public readonly record struct StreamMuxEvent(StreamMuxEventKind Kind, long StreamId, long ErrorCode = 0);
