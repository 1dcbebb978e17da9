using System.Text;
using Overlay.Transport.Sessions.Streams.Internal;

namespace Overlay.Transport.Sessions.Streams;

/// <summary>
/// The stream core of a peer session, sans-IO: bidirectional streams opened by either side, multiplexed over the
/// session's packets, with per-stream and connection flow control (RFC 9000 §2-§4), and on datagrams acknowledgements,
/// loss recovery and NewReno congestion control with pacing (RFC 9002). It owns no socket, clock or thread: the owner
/// feeds it received payloads (<see cref="TryReceive"/>), takes payloads to send (<see cref="PollTransmit"/>), calls
/// <see cref="OnTimeout"/> at <see cref="NextTimeout"/>, and acts on events (<see cref="TryDequeueEvent"/>). Frames
/// and layouts: ARCHITECTURE.md, "Sessions: streams".
/// </summary>
/// <remarks>
/// Stream ids are QUIC's without the direction bit (every stream is bidirectional): bit 0 is the opener (0 = client,
/// 1 = server), the rest counts that side's streams, so ids are never reused. Memory is bounded by the options: per
/// stream at most the receive window and the send buffer cap (plus a page each), in all the connection window and
/// send cap plus two pages per stream; events at most a few per stream. Not thread-safe: one owner drives it.
/// </remarks>
public sealed partial class StreamMux : ISentFrameSink
{
    private readonly StreamMuxOptions _options;
    private readonly bool _reliable;
    private readonly BufferAccount _account = new();
    private readonly Dictionary<long, MuxStreamState> _streams = [];
    private readonly Queue<StreamMuxEvent> _events = new();
    private readonly Queue<MuxStreamState> _sendQueue = new();
    private readonly Queue<MuxStreamState> _controlQueue = new();
    private readonly List<MuxStreamState> _connectionBlocked = [];
    private readonly List<MuxStreamState> _streamBlocked = [];
    private readonly List<MuxStreamState> _writeWaiters = [];
    private long _nextLocalIndex;
    private long _localStreamLimit = StreamMuxOptions.InitialMaxStreams;
    private bool _openRefused;
    private bool _streamsAvailableQueued;
    private long _nextPeerIndex;
    private long _peerStreamLimit;
    private long _peerStreamsRetired;
    private bool _maxStreamsPending;
    private long _sendMaxData = StreamMuxOptions.InitialConnectionWindowBytes;
    private long _sentDataTotal;
    private long _sendBufferedTotal;
    private long _dataBlockedAt = -1;
    private bool _dataBlockedPending;
    private long _receiveMaxData;
    private long _receiveHighestTotal;
    private long _receiveCreditedTotal;
    private bool _maxDataPending;
    private MuxCloseInfo? _closeInfo;
    private bool _closeFramePending;

    /// <summary>Creates the core of one connection.</summary>
    /// <param name="isClient">True on the side that initiated the session: its streams get even ids, the other's odd.</param>
    /// <param name="options">Parameters; null for the defaults (datagram path). Validated here.</param>
    /// <exception cref="ArgumentException">An option is out of range (<see cref="StreamMuxOptions.Validate"/>).</exception>
    public StreamMux(bool isClient, StreamMuxOptions? options = null)
    {
        _options = options ?? new StreamMuxOptions();
        _options.Validate();
        IsClient = isClient;
        _reliable = _options.Mode == StreamPathMode.Reliable;
        _peerStreamLimit = _options.MaxConcurrentStreams;
        _maxStreamsPending = _peerStreamLimit > StreamMuxOptions.InitialMaxStreams;
        _receiveMaxData = _options.ConnectionReceiveWindowBytes;
        _maxDataPending = _receiveMaxData > StreamMuxOptions.InitialConnectionWindowBytes;
        if (!_reliable)
        {
            var datagramBytes = _options.MaxPayloadBytes + _options.PacketOverheadBytes;
            _acks = new AckTracker(_options.MaxAckRanges, StreamMuxOptions.MaxAckDelay);
            _recovery = new LossRecovery(_options.InitialRtt, StreamMuxOptions.MaxAckDelay, datagramBytes);
            _pacer = new Pacer(datagramBytes);
        }
    }

    /// <summary>Gets whether this side initiated the session (even stream ids).</summary>
    public bool IsClient { get; }

    /// <summary>Gets the path mode.</summary>
    public StreamPathMode Mode => _options.Mode;

    /// <summary>Gets the largest payload <see cref="PollTransmit"/> produces, bytes.</summary>
    public int MaxPayloadBytes => _options.MaxPayloadBytes;

    /// <summary>Gets whether the connection is closed (by either side, an error or the idle timeout); a CONNECTION_CLOSE may still wait in <see cref="PollTransmit"/>.</summary>
    public bool IsClosed => _closeInfo is not null;

    /// <summary>Gets why the connection closed; null while open.</summary>
    public MuxCloseInfo? CloseInfo => _closeInfo;

    /// <summary>Opens a new stream; nothing is sent until it is written to, finished or reset.</summary>
    /// <param name="streamId">The new stream's id.</param>
    /// <returns>False when closed, or when the peer's stream limit is reached (then <see cref="StreamMuxEventKind.StreamsAvailable"/> follows when it is raised).</returns>
    public bool TryOpenStream(out long streamId)
    {
        streamId = -1;
        if (_closeInfo is not null)
        {
            return false;
        }

        if (_nextLocalIndex >= _localStreamLimit)
        {
            _openRefused = true;
            return false;
        }

        streamId = (_nextLocalIndex++ << 1) | (IsClient ? 0L : 1L);
        CreateStream(streamId, isLocal: true);
        return true;
    }

    /// <summary>Copies as much of <paramref name="data"/> into the stream's send buffer as the caps allow.</summary>
    /// <param name="streamId">An open stream.</param>
    /// <param name="data">Bytes to send, in order after earlier writes.</param>
    /// <returns>How many bytes were taken (a prefix) and why not more; see <see cref="StreamWriteStatus"/>.</returns>
    public StreamWriteResult Write(long streamId, ReadOnlySpan<byte> data)
    {
        if (_closeInfo is not null || !_streams.TryGetValue(streamId, out var s))
        {
            return new StreamWriteResult(0, StreamWriteStatus.Closed);
        }

        if (s.StopReceived)
        {
            return new StreamWriteResult(0, StreamWriteStatus.Stopped, s.StopReceivedCode);
        }

        if (s.ResetSent || s.Send.IsFinished)
        {
            return new StreamWriteResult(0, StreamWriteStatus.Closed);
        }

        var n = (int)Math.Min(data.Length, WriteRoom(s));
        if (n > 0)
        {
            s.Send.Append(data[..n]);
            _sendBufferedTotal += n;
            EnqueueSend(s);
        }

        if (n < data.Length && !s.WantsWritable)
        {
            s.WantsWritable = true;
            _writeWaiters.Add(s);
        }

        return new StreamWriteResult(n, n > 0 || data.IsEmpty ? StreamWriteStatus.Accepted : StreamWriteStatus.Blocked);
    }

    /// <summary>Ends the stream's send half after the bytes written so far (FIN).</summary>
    /// <param name="streamId">An open stream.</param>
    /// <returns>False when the stream is unknown, already finished or reset, or the connection is closed.</returns>
    public bool Finish(long streamId)
    {
        if (_closeInfo is not null || !_streams.TryGetValue(streamId, out var s) || s.ResetSent || s.Send.IsFinished)
        {
            return false;
        }

        s.Send.Finish();
        EnqueueSend(s);
        return true;
    }

    /// <summary>Abandons the stream's send half (RESET_STREAM, RFC 9000 §19.4): unsent and unacknowledged data is dropped.</summary>
    /// <param name="streamId">A stream.</param>
    /// <param name="errorCode">The application's error code, 0 ..= 2^62 − 1.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="errorCode"/> is out of range.</exception>
    public void ResetStream(long streamId, long errorCode)
    {
        CheckCode(errorCode);
        if (_closeInfo is null && _streams.TryGetValue(streamId, out var s))
        {
            ResetSendHalf(s, errorCode);
        }
    }

    /// <summary>Abandons the stream's receive half (STOP_SENDING, RFC 9000 §19.5): data is discarded and the peer asked to reset.</summary>
    /// <param name="streamId">A stream.</param>
    /// <param name="errorCode">The application's error code, 0 ..= 2^62 − 1.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="errorCode"/> is out of range.</exception>
    public void StopSending(long streamId, long errorCode)
    {
        CheckCode(errorCode);
        if (_closeInfo is not null || !_streams.TryGetValue(streamId, out var s) || s.StopSent || s.ReadDone)
        {
            return;
        }

        s.StopSent = true;
        s.StopSentCode = errorCode;
        s.ReadDone = true;
        s.Receive.Discard();
        CreditDiscarded(s);
        if (s.FinalSize < 0)
        {
            s.StopSendingPending = true;
            EnqueueControl(s);
        }

        TryRetire(s);
    }

    /// <summary>Reads the stream's next bytes in order.</summary>
    /// <param name="streamId">A stream.</param>
    /// <param name="destination">Where bytes go.</param>
    /// <returns>Bytes read, or why none; see <see cref="StreamReadStatus"/>.</returns>
    public StreamReadResult Read(long streamId, Span<byte> destination)
    {
        if (_closeInfo is not null || !_streams.TryGetValue(streamId, out var s) || s.StopSent || s.ReadDone)
        {
            return new StreamReadResult(0, StreamReadStatus.Closed);
        }

        if (s.PeerReset)
        {
            s.ReadDone = true;
            TryRetire(s);
            return new StreamReadResult(0, StreamReadStatus.Reset, s.PeerResetCode);
        }

        var n = s.Receive.Read(destination);
        if (n > 0)
        {
            s.ReceiveCredited += n;
            _receiveCreditedTotal += n;
            UpdateStreamWindow(s);
            UpdateConnectionWindow();
            return new StreamReadResult(n, StreamReadStatus.Data);
        }

        if (s.FinalSize >= 0 && s.Receive.ReadOffset == s.FinalSize)
        {
            s.ReadDone = true;
            TryRetire(s);
            return new StreamReadResult(0, StreamReadStatus.Finished);
        }

        return new StreamReadResult(0, StreamReadStatus.Blocked);
    }

    /// <summary>Closes the connection with an application error code (CONNECTION_CLOSE 0x1d), sent by the next <see cref="PollTransmit"/>.</summary>
    /// <param name="errorCode">The application's code, 0 ..= 2^62 − 1 (0 for a normal close).</param>
    /// <param name="reason">Text for people; cut to 128 bytes of UTF-8.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="errorCode"/> is out of range.</exception>
    public void Close(long errorCode, string reason = "")
    {
        CheckCode(errorCode);
        ArgumentNullException.ThrowIfNull(reason);
        CloseWith(new MuxCloseInfo(errorCode, true, TruncateUtf8(reason), ByPeer: false), sendFrame: true);
    }

    /// <summary>Returns whether <see cref="Read"/> on the stream would return something other than <see cref="StreamReadStatus.Blocked"/>.</summary>
    /// <param name="streamId">A stream.</param>
    /// <returns>True when data, the end, or a reset waits (or the stream is gone, which a read reports too).</returns>
    internal bool IsReadable(long streamId) =>
        _closeInfo is not null || !_streams.TryGetValue(streamId, out var s) || s.StopSent || s.ReadDone || s.IsReadable;

    /// <summary>Closes the connection without sending anything (the link under it is gone).</summary>
    /// <param name="reason">Why, for <see cref="CloseInfo"/>.</param>
    internal void Abort(string reason) =>
        CloseWith(new MuxCloseInfo((long)StreamMuxError.NoError, false, TruncateUtf8(reason), ByPeer: false), sendFrame: false);

    /// <summary>Takes the next event for the owner.</summary>
    /// <param name="muxEvent">The event.</param>
    /// <returns>False when none is queued.</returns>
    public bool TryDequeueEvent(out StreamMuxEvent muxEvent)
    {
        if (!_events.TryDequeue(out muxEvent))
        {
            return false;
        }

        if (muxEvent.Kind == StreamMuxEventKind.StreamsAvailable)
        {
            _streamsAvailableQueued = false;
        }
        else if (_streams.TryGetValue(muxEvent.StreamId, out var s))
        {
            if (muxEvent.Kind == StreamMuxEventKind.StreamReadable)
            {
                s.ReadableQueued = false;
            }
            else if (muxEvent.Kind == StreamMuxEventKind.StreamWritable)
            {
                s.WritableQueued = false;
            }
        }

        return true;
    }

    /// <summary>Returns a snapshot of the counters and estimates.</summary>
    /// <returns>The statistics.</returns>
    public StreamMuxStatistics GetStatistics() => new()
    {
        SmoothedRtt = _recovery?.Rtt.Smoothed ?? TimeSpan.Zero,
        RttVariation = _recovery?.Rtt.Variation ?? TimeSpan.Zero,
        MinRtt = _recovery?.Rtt.Min ?? TimeSpan.Zero,
        LatestRtt = _recovery?.Rtt.Latest ?? TimeSpan.Zero,
        CongestionWindow = _recovery?.Congestion.Window ?? 0,
        SlowStartThreshold = _recovery?.Congestion.SlowStartThreshold ?? long.MaxValue,
        BytesInFlight = _recovery?.Congestion.BytesInFlight ?? 0,
        PacketsSent = _packetsSent,
        PacketsReceived = _packetsReceived,
        PacketsLost = _recovery?.PacketsLost ?? 0,
        PacketsRetransmitted = _packetsRetransmitted,
        PacketsRefused = _packetsRefused,
        BytesSent = _bytesSent,
        BytesReceived = _bytesReceived,
        StreamBytesRetransmitted = _streamBytesRetransmitted,
        CongestionEvents = _recovery?.Congestion.CongestionEvents ?? 0,
        PersistentCongestionEvents = _recovery?.Congestion.PersistentCongestionEvents ?? 0,
        ProbeTimeouts = _recovery?.ProbeTimeouts ?? 0,
        OpenStreams = _streams.Count,
        SendBufferBytes = _account.SendBytes,
        ReceiveBufferBytes = _account.ReceiveBytes,
        PeakReceiveBufferBytes = _account.PeakReceiveBytes,
        PeakSendBufferBytes = _account.PeakSendBytes,
    };

    private static void CheckCode(long errorCode) =>
        ArgumentOutOfRangeException.ThrowIfGreaterThan((ulong)errorCode, (ulong)QuicVarint.MaxValue, nameof(errorCode));

    /// <summary>Cuts <paramref name="reason"/> to at most 128 bytes of UTF-8, at a character boundary.</summary>
    private static string TruncateUtf8(string reason)
    {
        if (Encoding.UTF8.GetByteCount(reason) <= FrameReader.MaxReasonBytes)
        {
            return reason;
        }

        var length = reason.Length;
        while (length > 0 && Encoding.UTF8.GetByteCount(reason.AsSpan(0, length)) > FrameReader.MaxReasonBytes)
        {
            length--;
            if (length > 0 && char.IsHighSurrogate(reason[length - 1]))
            {
                length--;
            }
        }

        return reason[..length];
    }

    private void CloseWith(MuxCloseInfo info, bool sendFrame)
    {
        if (_closeInfo is not null)
        {
            return;
        }

        _closeInfo = info;
        _closeFramePending = sendFrame;
        foreach (var s in _streams.Values)
        {
            s.Retired = true;
            s.Send.Discard();
            s.Receive.Discard();
        }

        _streams.Clear();
        _sendQueue.Clear();
        _controlQueue.Clear();
        _connectionBlocked.Clear();
        _streamBlocked.Clear();
        _writeWaiters.Clear();
        _events.Enqueue(new StreamMuxEvent(StreamMuxEventKind.ConnectionClosed, -1));
    }

}
