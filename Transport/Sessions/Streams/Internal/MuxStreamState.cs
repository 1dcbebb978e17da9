namespace Overlay.Transport.Sessions.Streams.Internal;

/// <summary>
/// One bidirectional stream's state in a <see cref="StreamMux"/> (RFC 9000 §3.1 and §3.2, both halves in one object):
/// the send half (buffer, the peer's limit, reset) and the receive half (reassembly, our advertised limit, final size,
/// the peer's reset), plus the flags that keep it at most once in each of the multiplexer's queues. Plain fields: the
/// multiplexer is its only user. Not thread-safe.
/// </summary>
internal sealed class MuxStreamState
{
    /// <summary>Creates a stream's state with the protocol's initial limits in both directions.</summary>
    /// <param name="id">Stream id: bit 0 is the opener (0 = client, 1 = server), the rest the opener's sequence.</param>
    /// <param name="isLocal">Whether this side opened it.</param>
    /// <param name="options">Window and buffer sizes.</param>
    /// <param name="account">Counts buffer pages.</param>
    public MuxStreamState(long id, bool isLocal, StreamMuxOptions options, BufferAccount account)
    {
        Id = id;
        IsLocal = isLocal;
        Send = new SendBuffer(options.StreamSendBufferBytes, account);
        Receive = new ReceiveBuffer(options.StreamReceiveWindowBytes, account);
        SendLimit = StreamMuxOptions.InitialStreamWindowBytes;
        ReceiveLimit = StreamMuxOptions.InitialStreamWindowBytes;
    }

    /// <summary>Gets the stream id.</summary>
    public long Id { get; }

    /// <summary>Gets whether this side opened the stream.</summary>
    public bool IsLocal { get; }

    /// <summary>Gets the send half's buffer.</summary>
    public SendBuffer Send { get; }

    /// <summary>Gets the receive half's reassembly buffer.</summary>
    public ReceiveBuffer Receive { get; }

    /// <summary>The peer's MAX_STREAM_DATA: highest offset we may send, bytes.</summary>
    public long SendLimit;

    /// <summary>The SendLimit at which STREAM_DATA_BLOCKED was last queued (−1: never), so it is sent once per limit.</summary>
    public long BlockedAt = -1;

    /// <summary>Whether a STREAM_DATA_BLOCKED frame is waiting to be sent.</summary>
    public bool BlockedFramePending;

    /// <summary>Whether this side reset the send half (RESET_STREAM); nothing more is sent or retransmitted.</summary>
    public bool ResetSent;

    /// <summary>The application error code of our RESET_STREAM.</summary>
    public long ResetCode;

    /// <summary>The final size our RESET_STREAM carries: the flow-control credit used, bytes.</summary>
    public long ResetFinalSize;

    /// <summary>Whether a RESET_STREAM frame is waiting to be (re)sent.</summary>
    public bool ResetFramePending;

    /// <summary>Whether the peer acknowledged our RESET_STREAM.</summary>
    public bool ResetAcknowledged;

    /// <summary>Whether the peer sent STOP_SENDING.</summary>
    public bool StopReceived;

    /// <summary>The application error code of the peer's STOP_SENDING.</summary>
    public long StopReceivedCode;

    /// <summary>Our MAX_STREAM_DATA: highest offset the peer may send, bytes.</summary>
    public long ReceiveLimit;

    /// <summary>Whether a MAX_STREAM_DATA frame is waiting to be (re)sent.</summary>
    public bool MaxStreamDataPending;

    /// <summary>One past the highest offset received (what connection flow control counts), bytes.</summary>
    public long ReceiveHighest;

    /// <summary>Bytes credited back to the connection window: read by the application, or discarded.</summary>
    public long ReceiveCredited;

    /// <summary>The final size from a FIN or RESET_STREAM, bytes; −1 while unknown.</summary>
    public long FinalSize = -1;

    /// <summary>Whether the peer reset the stream (RESET_STREAM).</summary>
    public bool PeerReset;

    /// <summary>The application error code of the peer's RESET_STREAM.</summary>
    public long PeerResetCode;

    /// <summary>Whether this side asked the peer to stop (STOP_SENDING); received data is discarded.</summary>
    public bool StopSent;

    /// <summary>The application error code of our STOP_SENDING.</summary>
    public long StopSentCode;

    /// <summary>Whether a STOP_SENDING frame is waiting to be (re)sent.</summary>
    public bool StopSendingPending;

    /// <summary>Whether the application is done with the receive half (read to the end, saw the reset, or stopped it).</summary>
    public bool ReadDone;

    /// <summary>Whether the application was refused room on a write and waits for <see cref="StreamMuxEventKind.StreamWritable"/>.</summary>
    public bool WantsWritable;

    /// <summary>Whether the stream is in the send queue.</summary>
    public bool InSendQueue;

    /// <summary>Whether the stream is in the control-frame queue.</summary>
    public bool InControlQueue;

    /// <summary>Whether the stream waits for connection-level credit (MAX_DATA).</summary>
    public bool InConnectionBlocked;

    /// <summary>Whether the stream waits for stream-level credit (MAX_STREAM_DATA) with data to send.</summary>
    public bool InStreamBlocked;

    /// <summary>Whether a <see cref="StreamMuxEventKind.StreamReadable"/> event is queued and not yet taken.</summary>
    public bool ReadableQueued;

    /// <summary>Whether a <see cref="StreamMuxEventKind.StreamWritable"/> event is queued and not yet taken.</summary>
    public bool WritableQueued;

    /// <summary>Whether both halves finished and the multiplexer forgot the stream; queue entries for it are skipped.</summary>
    public bool Retired;

    /// <summary>Gets whether the receive half has something for the application: data, the end, or a reset.</summary>
    public bool IsReadable => PeerReset || Receive.Available > 0 || (FinalSize >= 0 && Receive.ReadOffset == FinalSize);

    /// <summary>Gets whether the receive half discards what arrives (reset by the peer or stopped by us).</summary>
    public bool IsDiscarding => PeerReset || StopSent;
}
