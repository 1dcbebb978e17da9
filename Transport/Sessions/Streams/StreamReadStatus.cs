namespace Overlay.Transport.Sessions.Streams;

/// <summary>The outcome of <see cref="StreamMux.Read"/>.</summary>
public enum StreamReadStatus
{
    /// <summary>Bytes were read (<see cref="StreamReadResult.Bytes"/> &gt; 0).</summary>
    Data,

    /// <summary>Nothing to read yet; a <see cref="StreamMuxEventKind.StreamReadable"/> event follows when there is.</summary>
    Blocked,

    /// <summary>The peer finished the stream and every byte has been read (end of stream).</summary>
    Finished,

    /// <summary>The peer reset the stream (RESET_STREAM) with <see cref="StreamReadResult.ErrorCode"/>; unread data was discarded.</summary>
    Reset,

    /// <summary>No such stream to read: never opened, already read to its end, stopped locally, or the connection closed.</summary>
    Closed,
}
