namespace Overlay.Transport.Sessions.Streams.Internal;

/// <summary>
/// Counts the buffer pages one connection holds, send and receive apart, so the statistics can show that memory stays
/// within the configured caps (ARCHITECTURE.md, "Memory caps"). Not thread-safe: one core owns it.
/// </summary>
internal sealed class BufferAccount
{
    /// <summary>Gets the bytes of pages held by send buffers.</summary>
    public long SendBytes { get; private set; }

    /// <summary>Gets the bytes of pages held by receive (reassembly) buffers.</summary>
    public long ReceiveBytes { get; private set; }

    /// <summary>Gets the largest <see cref="ReceiveBytes"/> seen, bytes.</summary>
    public long PeakReceiveBytes { get; private set; }

    /// <summary>Gets the largest <see cref="SendBytes"/> seen, bytes.</summary>
    public long PeakSendBytes { get; private set; }

    /// <summary>Records <paramref name="bytes"/> taken (positive) or returned (negative).</summary>
    /// <param name="send">True for a send buffer, false for a receive buffer.</param>
    /// <param name="bytes">Signed change, bytes.</param>
    public void Add(bool send, long bytes)
    {
        if (send)
        {
            SendBytes += bytes;
            PeakSendBytes = Math.Max(PeakSendBytes, SendBytes);
        }
        else
        {
            ReceiveBytes += bytes;
            PeakReceiveBytes = Math.Max(PeakReceiveBytes, ReceiveBytes);
        }
    }
}
