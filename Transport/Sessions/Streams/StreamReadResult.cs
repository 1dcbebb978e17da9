namespace Overlay.Transport.Sessions.Streams;

/// <summary>The result of <see cref="StreamMux.Read"/>.</summary>
/// <param name="Bytes">Bytes copied into the destination, 0 unless <paramref name="Status"/> is <see cref="StreamReadStatus.Data"/>.</param>
/// <param name="Status">What happened.</param>
/// <param name="ErrorCode">The peer's application error code when <paramref name="Status"/> is <see cref="StreamReadStatus.Reset"/>.</param>
public readonly record struct StreamReadResult(int Bytes, StreamReadStatus Status, long ErrorCode = 0);
