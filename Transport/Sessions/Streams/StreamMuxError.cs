namespace Overlay.Transport.Sessions.Streams;

/// <summary>
/// Transport error codes carried by CONNECTION_CLOSE (0x1c): the subset of RFC 9000 §20.1 that applies here, with
/// QUIC's values. Application error codes (CONNECTION_CLOSE 0x1d, RESET_STREAM, STOP_SENDING) are the application's own.
/// </summary>
public enum StreamMuxError : long
{
    /// <summary>NO_ERROR (0x0): closed without error (also used for an idle timeout, which sends nothing).</summary>
    NoError = 0x0,

    /// <summary>INTERNAL_ERROR (0x1): the endpoint failed (for example the sent-packet log filled up).</summary>
    InternalError = 0x1,

    /// <summary>FLOW_CONTROL_ERROR (0x3): the peer sent more than a MAX_DATA or MAX_STREAM_DATA allowed.</summary>
    FlowControlError = 0x3,

    /// <summary>STREAM_LIMIT_ERROR (0x4): the peer opened a stream beyond the MAX_STREAMS it was given.</summary>
    StreamLimitError = 0x4,

    /// <summary>STREAM_STATE_ERROR (0x5): a frame named one of our streams that we never opened.</summary>
    StreamStateError = 0x5,

    /// <summary>FINAL_SIZE_ERROR (0x6): data beyond a stream's final size, or two different final sizes.</summary>
    FinalSizeError = 0x6,

    /// <summary>FRAME_ENCODING_ERROR (0x7): a malformed frame (truncated, unknown type, out-of-range field).</summary>
    FrameEncodingError = 0x7,

    /// <summary>PROTOCOL_VIOLATION (0xa): well-formed but forbidden (an empty packet, an ACK of an unsent packet, an ACK on the reliable path).</summary>
    ProtocolViolation = 0xa,
}
