namespace Overlay.Transport.Sessions.Streams.Internal;

/// <summary>
/// Frame type bytes. The values are QUIC's (RFC 9000 §19, table 3) for the frames we share, so a capture reads
/// familiarly; every type fits one byte (a one-byte QUIC varint). Layouts are in ARCHITECTURE.md ("Sessions: streams").
/// </summary>
internal enum FrameType : byte
{
    /// <summary>PADDING (§19.1): one zero byte, no content.</summary>
    Padding = 0x00,

    /// <summary>PING (§19.2): no content; ack-eliciting.</summary>
    Ping = 0x01,

    /// <summary>ACK (§19.3): largest acknowledged, ack delay (units of 8 µs), range count, first range, (gap, length) pairs.</summary>
    Ack = 0x02,

    /// <summary>RESET_STREAM (§19.4): stream id, application error code, final size.</summary>
    ResetStream = 0x04,

    /// <summary>STOP_SENDING (§19.5): stream id, application error code.</summary>
    StopSending = 0x05,

    /// <summary>STREAM (§19.8): 0x08 | OFF (0x04) | LEN (0x02) | FIN (0x01); stream id, [offset], [length], data.</summary>
    Stream = 0x08,

    /// <summary>MAX_DATA (§19.9): maximum connection data, bytes.</summary>
    MaxData = 0x10,

    /// <summary>MAX_STREAM_DATA (§19.10): stream id, maximum stream data, bytes.</summary>
    MaxStreamData = 0x11,

    /// <summary>MAX_STREAMS (§19.11, bidirectional only): cumulative number of streams the peer may open.</summary>
    MaxStreams = 0x12,

    /// <summary>DATA_BLOCKED (§19.12): the connection limit the sender is blocked at, bytes.</summary>
    DataBlocked = 0x14,

    /// <summary>STREAM_DATA_BLOCKED (§19.13): stream id, the stream limit the sender is blocked at, bytes.</summary>
    StreamDataBlocked = 0x15,

    /// <summary>CONNECTION_CLOSE, transport error (§19.19, 0x1c, without its frame-type field): error code, reason length (≤ 128), reason.</summary>
    ConnectionClose = 0x1c,

    /// <summary>CONNECTION_CLOSE, application error (§19.19, 0x1d): error code, reason length (≤ 128), reason.</summary>
    ApplicationClose = 0x1d,
}
