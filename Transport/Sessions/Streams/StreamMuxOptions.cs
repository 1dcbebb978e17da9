namespace Overlay.Transport.Sessions.Streams;

/// <summary>
/// Parameters of one <see cref="StreamMux"/> and its <see cref="StreamMuxConnection"/>: path mode, packet size,
/// flow-control windows, memory caps and timers. Every default is a named constant with its source; the protocol's
/// initial limits (what each side may send before the other's first MAX_* frame) are constants, not options, because
/// nothing negotiates them. Validated as a set by <see cref="Validate"/>. Treat as immutable once a mux is built.
/// </summary>
public sealed class StreamMuxOptions
{
    /// <summary>Session packet header, bytes: type (1), receiver index (4), packet number (8, little-endian).</summary>
    public const int SessionHeaderBytes = 13;

    /// <summary>Session AEAD tag, bytes (ChaCha20-Poly1305 or AES-GCM: 16).</summary>
    public const int SessionTagBytes = 16;

    /// <summary>Default <see cref="PacketOverheadBytes"/>: header + tag = 29 bytes.</summary>
    public const int DefaultPacketOverheadBytes = SessionHeaderBytes + SessionTagBytes;

    /// <summary>Default <see cref="MaxPayloadBytes"/> on datagrams: 1232 (<see cref="IMessageTransport.MaxDatagramBytes"/>, so nothing fragments) − 29 = 1203 bytes.</summary>
    public const int DefaultDatagramPayloadBytes = IMessageTransport.MaxDatagramBytes - DefaultPacketOverheadBytes;

    /// <summary>Default <see cref="MaxPayloadBytes"/> on the reliable path: 16 KiB, the session's largest TCP record (as TLS records).</summary>
    public const int DefaultReliablePayloadBytes = 16 * 1024;

    /// <summary>Protocol constant: the stream window each side grants on every stream before its first MAX_STREAM_DATA, 256 KiB (yamux's initial window).</summary>
    public const int InitialStreamWindowBytes = 256 * 1024;

    /// <summary>Protocol constant: the connection window each side grants before its first MAX_DATA, 1 MiB.</summary>
    public const int InitialConnectionWindowBytes = 1024 * 1024;

    /// <summary>Protocol constant: streams each side may open before the other's first MAX_STREAMS, 16.</summary>
    public const int InitialMaxStreams = 16;

    /// <summary>Default <see cref="StreamReceiveWindowBytes"/>: 1 MiB.</summary>
    public const int DefaultStreamReceiveWindowBytes = 1024 * 1024;

    /// <summary>Default <see cref="ConnectionReceiveWindowBytes"/>: 16 MiB.</summary>
    public const int DefaultConnectionReceiveWindowBytes = 16 * 1024 * 1024;

    /// <summary>Default <see cref="MaxConcurrentStreams"/>: 256.</summary>
    public const int DefaultMaxConcurrentStreams = 256;

    /// <summary>Default <see cref="MaxAckRanges"/>: 32 ranges (quinn keeps 64). ACKs go every second packet, so a range is reported many times before newer ones push it out; a frame of 32 ranges is at most ~200 bytes.</summary>
    public const int DefaultMaxAckRanges = 32;

    /// <summary>Default <see cref="MaxReassemblyRanges"/>: 256 disjoint ranges per stream.</summary>
    public const int DefaultMaxReassemblyRanges = 256;

    /// <summary>Protocol constant max_ack_delay: 25 ms (RFC 9000 §18.2's default). Both sides assume it of the other.</summary>
    public static readonly TimeSpan MaxAckDelay = TimeSpan.FromMilliseconds(25);

    /// <summary>Default <see cref="InitialRtt"/>: kInitialRtt = 333 ms (RFC 9002 §6.2.2).</summary>
    public static readonly TimeSpan DefaultInitialRtt = TimeSpan.FromMilliseconds(333);

    /// <summary>Default <see cref="IdleTimeout"/>: 30 s (RFC 9000 §10.1 leaves it to the endpoint; quinn's default).</summary>
    public static readonly TimeSpan DefaultIdleTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Gets or sets what the path guarantees. Default <see cref="StreamPathMode.Datagram"/>.</summary>
    public StreamPathMode Mode { get; set; } = StreamPathMode.Datagram;

    /// <summary>Gets or sets the largest payload produced, bytes. Default 1203 (datagrams) — use 16384 on the reliable path; range 256..16384.</summary>
    public int MaxPayloadBytes { get; set; } = DefaultDatagramPayloadBytes;

    /// <summary>Gets or sets the session's bytes around each payload, counted by congestion control (bytes in flight are datagram bytes, RFC 9002 §2). Default 29; range 0..1024.</summary>
    public int PacketOverheadBytes { get; set; } = DefaultPacketOverheadBytes;

    /// <summary>Gets or sets the per-stream receive window: most unread bytes the peer may send on a stream. Default 1 MiB; range 256 KiB..256 MiB.</summary>
    public int StreamReceiveWindowBytes { get; set; } = DefaultStreamReceiveWindowBytes;

    /// <summary>Gets or sets the connection receive window: most unread bytes across all streams. Default 16 MiB; range max(1 MiB, StreamReceiveWindowBytes)..1 GiB.</summary>
    public int ConnectionReceiveWindowBytes { get; set; } = DefaultConnectionReceiveWindowBytes;

    /// <summary>Gets or sets the per-stream send buffer cap: most written and unacknowledged bytes; a write past it is refused (back-pressure). Default 1 MiB; range 4 KiB..256 MiB.</summary>
    public int StreamSendBufferBytes { get; set; } = 1024 * 1024;

    /// <summary>Gets or sets the connection send buffer cap across streams. Default 16 MiB; range StreamSendBufferBytes..1 GiB.</summary>
    public int ConnectionSendBufferBytes { get; set; } = 16 * 1024 * 1024;

    /// <summary>Gets or sets how many peer-opened streams may be open at once (MAX_STREAMS is raised as they close). Default 256; range 16..65536.</summary>
    public int MaxConcurrentStreams { get; set; } = DefaultMaxConcurrentStreams;

    /// <summary>Gets or sets how many packet-number ranges are remembered and reported per ACK frame. Default 32; range 1..256.</summary>
    public int MaxAckRanges { get; set; } = DefaultMaxAckRanges;

    /// <summary>Gets or sets how many disjoint received ranges one stream may hold; a packet that would exceed it is left unacknowledged so the sender resends it. Default 256; range 1..65536.</summary>
    public int MaxReassemblyRanges { get; set; } = DefaultMaxReassemblyRanges;

    /// <summary>Gets or sets kInitialRtt: the RTT assumed before the first sample (RFC 9002 §6.2.2). Default 333 ms; range 1 ms..10 s.</summary>
    public TimeSpan InitialRtt { get; set; } = DefaultInitialRtt;

    /// <summary>Gets or sets the idle timeout on datagrams: the connection closes silently after this long without a packet from the peer (RFC 9000 §10.1). Default 30 s; zero for none; else 10 ms..1 h.</summary>
    public TimeSpan IdleTimeout { get; set; } = DefaultIdleTimeout;

    /// <summary>Gets or sets how long the datagram path may go without sending an ack-eliciting packet before a PING is sent (keeps NAT bindings and the peer's idle timer alive). Default zero (none); else 10 ms..IdleTimeout.</summary>
    public TimeSpan KeepAliveInterval { get; set; } = TimeSpan.Zero;

    /// <summary>Gets or sets whether packets are paced (RFC 9002 §7.7) on datagrams. Default true.</summary>
    public bool Pacing { get; set; } = true;

    /// <summary>Gets or sets the <see cref="StreamMuxConnection"/> input queue: received packets and application requests waiting for the loop. Default 256 items; range 8..65536.</summary>
    public int InputQueueCapacity { get; set; } = 256;

    /// <summary>Gets or sets the <see cref="StreamMuxConnection"/> output queue: packets built and waiting for the link. Default 64; range 1..65536.</summary>
    public int OutputQueueCapacity { get; set; } = 64;

    /// <summary>Returns options for the reliable path: <see cref="StreamPathMode.Reliable"/> and 16 KiB payloads, other values default.</summary>
    /// <returns>New options.</returns>
    public static StreamMuxOptions ForReliablePath() => new() { Mode = StreamPathMode.Reliable, MaxPayloadBytes = DefaultReliablePayloadBytes };

    /// <summary>Checks every value against its range and the others.</summary>
    /// <exception cref="ArgumentException">A value is out of range; the message names the option, the value and the range.</exception>
    public void Validate()
    {
        Check(nameof(MaxPayloadBytes), MaxPayloadBytes, 256, 16 * 1024);
        Check(nameof(PacketOverheadBytes), PacketOverheadBytes, 0, 1024);
        Check(nameof(StreamReceiveWindowBytes), StreamReceiveWindowBytes, InitialStreamWindowBytes, 256L << 20);
        Check(nameof(ConnectionReceiveWindowBytes), ConnectionReceiveWindowBytes, Math.Max(InitialConnectionWindowBytes, StreamReceiveWindowBytes), 1L << 30);
        Check(nameof(StreamSendBufferBytes), StreamSendBufferBytes, 4096, 256L << 20);
        Check(nameof(ConnectionSendBufferBytes), ConnectionSendBufferBytes, StreamSendBufferBytes, 1L << 30);
        Check(nameof(MaxConcurrentStreams), MaxConcurrentStreams, InitialMaxStreams, 65_536);
        Check(nameof(MaxAckRanges), MaxAckRanges, 1, 256);
        Check(nameof(MaxReassemblyRanges), MaxReassemblyRanges, 1, 65_536);
        CheckTime(nameof(InitialRtt), InitialRtt, TimeSpan.FromMilliseconds(1), TimeSpan.FromSeconds(10));
        if (IdleTimeout != TimeSpan.Zero)
        {
            CheckTime(nameof(IdleTimeout), IdleTimeout, TimeSpan.FromMilliseconds(10), TimeSpan.FromHours(1));
        }

        if (KeepAliveInterval != TimeSpan.Zero)
        {
            CheckTime(nameof(KeepAliveInterval), KeepAliveInterval, TimeSpan.FromMilliseconds(10), IdleTimeout == TimeSpan.Zero ? TimeSpan.FromHours(1) : IdleTimeout);
        }

        Check(nameof(InputQueueCapacity), InputQueueCapacity, 8, 65_536);
        Check(nameof(OutputQueueCapacity), OutputQueueCapacity, 1, 65_536);
    }

    private static void Check(string name, long value, long min, long max)
    {
        if (value < min || value > max)
        {
            throw new ArgumentException($"StreamMuxOptions.{name} = {value} is out of range: it must be {min}..{max}.", name);
        }
    }

    private static void CheckTime(string name, TimeSpan value, TimeSpan min, TimeSpan max)
    {
        if (value < min || value > max)
        {
            throw new ArgumentException($"StreamMuxOptions.{name} = {value} is out of range: it must be {min}..{max}.", name);
        }
    }
}
