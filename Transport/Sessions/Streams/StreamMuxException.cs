namespace Overlay.Transport.Sessions.Streams;

/// <summary>
/// A stream operation of a <see cref="MuxStream"/> failed because the peer reset or stopped the stream, or the
/// connection closed. The message says which stream, what was in flight and why.
/// </summary>
public sealed class StreamMuxException : IOException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What failed and why.</param>
    /// <param name="errorCode">The peer's application error code (RESET_STREAM or STOP_SENDING), or the close's code.</param>
    /// <param name="closeInfo">Why the connection closed, when that is the cause; null for a stream-level failure.</param>
    public StreamMuxException(string message, long errorCode, MuxCloseInfo? closeInfo)
        : base(message)
    {
        ErrorCode = errorCode;
        CloseInfo = closeInfo;
    }

    /// <summary>Gets the application error code of the peer's RESET_STREAM or STOP_SENDING, or of the connection close.</summary>
    public long ErrorCode { get; }

    /// <summary>Gets why the connection closed, or null when only the stream failed.</summary>
    public MuxCloseInfo? CloseInfo { get; }
}
