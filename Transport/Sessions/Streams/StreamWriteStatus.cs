namespace Overlay.Transport.Sessions.Streams;

/// <summary>The outcome of <see cref="StreamMux.Write"/>.</summary>
public enum StreamWriteStatus
{
    /// <summary>Some or all bytes were taken (<see cref="StreamWriteResult.Bytes"/> &gt; 0); if not all, <see cref="StreamMuxEventKind.StreamWritable"/> follows when there is room.</summary>
    Accepted,

    /// <summary>No room (send buffer cap reached, because the peer reads slowly or the path is slow); <see cref="StreamMuxEventKind.StreamWritable"/> follows.</summary>
    Blocked,

    /// <summary>The peer sent STOP_SENDING with <see cref="StreamWriteResult.ErrorCode"/>: nothing more will be sent.</summary>
    Stopped,

    /// <summary>The stream cannot be written: unknown, finished or reset locally, or the connection closed.</summary>
    Closed,
}
