namespace Overlay.Transport.Sessions.Streams;

/// <summary>Why a <see cref="StreamMux"/> connection closed.</summary>
/// <param name="ErrorCode">A <see cref="StreamMuxError"/> value, or the application's code when <paramref name="IsApplicationError"/>.</param>
/// <param name="IsApplicationError">True when the application closed it (CONNECTION_CLOSE 0x1d), false for a transport error or timeout (0x1c).</param>
/// <param name="Reason">Text for people, at most 128 bytes of UTF-8 on the wire; may be empty.</param>
/// <param name="ByPeer">True when the peer sent the CONNECTION_CLOSE, false when this side closed (including idle timeout and link loss).</param>
public readonly record struct MuxCloseInfo(long ErrorCode, bool IsApplicationError, string Reason, bool ByPeer)
{
    /// <summary>Returns a one-line description, e.g. "transport error FlowControlError (0x3) by peer: stream 4 beyond its window".</summary>
    /// <returns>The description.</returns>
    public override string ToString()
    {
        var what = IsApplicationError ? $"application error 0x{ErrorCode:x}" : $"transport error {(StreamMuxError)ErrorCode} (0x{ErrorCode:x})";
        var who = ByPeer ? "by peer" : "locally";
        return Reason.Length == 0 ? $"{what} {who}" : $"{what} {who}: {Reason}";
    }
}
