namespace Overlay.Transport.Sessions.Streams.Internal;

/// <summary>What kind of retransmittable information a sent frame carried (RFC 9000 §13.3).</summary>
internal enum SentFrameKind : byte
{
    /// <summary>STREAM: the range <see cref="SentFrame.Offset"/> + <see cref="SentFrame.Length"/> of a stream, maybe with FIN.</summary>
    Stream,

    /// <summary>MAX_DATA with the value in <see cref="SentFrame.Offset"/>.</summary>
    MaxData,

    /// <summary>MAX_STREAM_DATA with the value in <see cref="SentFrame.Offset"/>.</summary>
    MaxStreamData,

    /// <summary>MAX_STREAMS with the value in <see cref="SentFrame.Offset"/>.</summary>
    MaxStreams,

    /// <summary>RESET_STREAM.</summary>
    ResetStream,

    /// <summary>STOP_SENDING.</summary>
    StopSending,
}

/// <summary>
/// One retransmittable frame of a sent packet, kept until the packet is acknowledged or declared lost; on loss the
/// information (not the packet) is queued again. 24 bytes.
/// </summary>
/// <param name="Kind">What it carried.</param>
/// <param name="StreamId">The stream, for stream frames; 0 otherwise.</param>
/// <param name="Offset">STREAM: first byte's offset; MAX_*: the value sent.</param>
/// <param name="Length">STREAM: data bytes.</param>
/// <param name="Fin">STREAM: whether the FIN bit was set.</param>
internal readonly record struct SentFrame(SentFrameKind Kind, long StreamId, long Offset, int Length, bool Fin);

/// <summary>Receives the fate of sent frames from <see cref="LossRecovery"/>: the stream multiplexer implements it.</summary>
internal interface ISentFrameSink
{
    /// <summary>The packet carrying <paramref name="frame"/> was acknowledged.</summary>
    /// <param name="frame">The frame.</param>
    void OnFrameAcked(in SentFrame frame);

    /// <summary>The packet carrying <paramref name="frame"/> was declared lost (or a probe resends it): queue its information again.</summary>
    /// <param name="frame">The frame.</param>
    void OnFrameLost(in SentFrame frame);
}
