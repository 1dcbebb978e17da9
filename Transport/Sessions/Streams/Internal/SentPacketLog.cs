namespace Overlay.Transport.Sessions.Streams.Internal;

/// <summary>State of a sent packet in <see cref="SentPacketLog"/>.</summary>
internal enum SentPacketState : byte
{
    /// <summary>Not ack-eliciting (ACK only, or CONNECTION_CLOSE): never in flight, nothing to track.</summary>
    Untracked,

    /// <summary>Ack-eliciting and in flight.</summary>
    Outstanding,

    /// <summary>Acknowledged.</summary>
    Acknowledged,

    /// <summary>Declared lost.</summary>
    Lost,
}

/// <summary>One entry of <see cref="SentPacketLog"/>: 24 bytes.</summary>
internal struct SentPacket
{
    /// <summary>When it was sent.</summary>
    public TimeSpan TimeSent;

    /// <summary>Absolute index of its first frame in the log's frame ring.</summary>
    public long FirstFrame;

    /// <summary>Datagram bytes (payload plus the session's overhead).</summary>
    public int Bytes;

    /// <summary>How many frames it carried.</summary>
    public ushort FrameCount;

    /// <summary>Its state.</summary>
    public SentPacketState State;
}

/// <summary>
/// The packets sent and not yet resolved (acknowledged or lost), indexed by packet number, and the frames each carried,
/// in two rings that advance together: packet numbers are consecutive, so the oldest unresolved packet is the base of
/// both. Grows by doubling up to <see cref="MaxPackets"/>. Not thread-safe.
/// </summary>
internal sealed class SentPacketLog
{
    /// <summary>Most packets spanned from the oldest unresolved to the newest: 2^17 (≈ 160 MB of 1232-byte datagrams).</summary>
    public const int MaxPackets = 1 << 17;

    private SentPacket[] _packets = new SentPacket[256];
    private SentFrame[] _frames = new SentFrame[256];
    private long _base;
    private long _next;
    private long _frameBase;
    private long _frameNext;

    /// <summary>Gets the oldest packet number still held.</summary>
    public long BasePacketNumber => _base;

    /// <summary>Gets the next packet number to be sent.</summary>
    public long NextPacketNumber => _next;

    /// <summary>Gets whether no more packets can be logged until old ones resolve.</summary>
    public bool IsFull => _next - _base >= MaxPackets;

    /// <summary>Gets the index the next frame will get (to roll back an unsent packet's frames).</summary>
    public long FrameCursor => _frameNext;

    /// <summary>Gets the packet with number <paramref name="packetNumber"/>, which must be held.</summary>
    /// <param name="packetNumber">BasePacketNumber ..&lt; NextPacketNumber.</param>
    public ref SentPacket this[long packetNumber] => ref _packets[packetNumber & (_packets.Length - 1)];

    /// <summary>Gets frame number <paramref name="index"/> (absolute).</summary>
    /// <param name="index">A frame of a held packet.</param>
    /// <returns>The frame.</returns>
    public ref SentFrame Frame(long index) => ref _frames[index & (_frames.Length - 1)];

    /// <summary>Appends a frame of the packet being built.</summary>
    /// <param name="frame">The frame.</param>
    public void AddFrame(in SentFrame frame)
    {
        if (_frameNext - _frameBase == _frames.Length)
        {
            _frames = Grow(_frames, _frameBase, _frameNext);
        }

        _frames[_frameNext & (_frames.Length - 1)] = frame;
        _frameNext++;
    }

    /// <summary>Drops frames added since <paramref name="cursor"/> (the packet they were for was not sent).</summary>
    /// <param name="cursor">A value of <see cref="FrameCursor"/>.</param>
    public void RollBackFrames(long cursor) => _frameNext = cursor;

    /// <summary>Logs the next packet with the frames added since <paramref name="firstFrame"/>.</summary>
    /// <param name="timeSent">When it was sent.</param>
    /// <param name="bytes">Datagram bytes.</param>
    /// <param name="firstFrame">The <see cref="FrameCursor"/> before its frames were added.</param>
    /// <param name="state">Outstanding for ack-eliciting packets, else Untracked.</param>
    /// <returns>Its packet number.</returns>
    public long Add(TimeSpan timeSent, int bytes, long firstFrame, SentPacketState state)
    {
        if (_next - _base == _packets.Length)
        {
            _packets = Grow(_packets, _base, _next);
        }

        var number = _next++;
        this[number] = new SentPacket
        {
            TimeSent = timeSent,
            Bytes = bytes,
            FirstFrame = firstFrame,
            FrameCount = (ushort)(_frameNext - firstFrame),
            State = state,
        };
        return number;
    }

    /// <summary>Forgets resolved packets at the base, and their frames.</summary>
    public void TrimResolved()
    {
        while (_base < _next && this[_base].State != SentPacketState.Outstanding)
        {
            _base++;
        }

        _frameBase = _base < _next ? this[_base].FirstFrame : _frameNext;
    }

    private static T[] Grow<T>(T[] ring, long start, long end)
    {
        var bigger = new T[ring.Length * 2];
        for (var i = start; i < end; i++)
        {
            bigger[i & (bigger.Length - 1)] = ring[i & (ring.Length - 1)];
        }

        return bigger;
    }
}
