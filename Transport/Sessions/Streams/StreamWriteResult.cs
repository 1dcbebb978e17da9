namespace Overlay.Transport.Sessions.Streams;

/// <summary>The result of <see cref="StreamMux.Write"/>.</summary>
/// <param name="Bytes">Bytes taken into the stream's send buffer (a prefix of what was offered).</param>
/// <param name="Status">What happened.</param>
/// <param name="ErrorCode">The peer's application error code when <paramref name="Status"/> is <see cref="StreamWriteStatus.Stopped"/>.</param>
public readonly record struct StreamWriteResult(int Bytes, StreamWriteStatus Status, long ErrorCode = 0);
