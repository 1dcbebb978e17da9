namespace Overlay.Transport.Sessions.Streams;

/// <summary>What a <see cref="StreamMuxEvent"/> tells the owner of a <see cref="StreamMux"/>.</summary>
public enum StreamMuxEventKind
{
    /// <summary>The peer opened stream <see cref="StreamMuxEvent.StreamId"/> (a frame for it arrived).</summary>
    StreamOpened,

    /// <summary>Stream <see cref="StreamMuxEvent.StreamId"/> has something for <see cref="StreamMux.Read"/>: data, its end, or a reset.</summary>
    StreamReadable,

    /// <summary>Stream <see cref="StreamMuxEvent.StreamId"/>, which refused part of a write, has room again (or was stopped: write to learn which).</summary>
    StreamWritable,

    /// <summary>The peer sent STOP_SENDING on stream <see cref="StreamMuxEvent.StreamId"/> with <see cref="StreamMuxEvent.ErrorCode"/>; its send side was reset.</summary>
    StreamStopped,

    /// <summary>The peer raised its stream limit after <see cref="StreamMux.TryOpenStream"/> was refused: try again.</summary>
    StreamsAvailable,

    /// <summary>The connection closed; <see cref="StreamMux.CloseInfo"/> says why. The last event.</summary>
    ConnectionClosed,
}
