namespace Overlay.Transport.Sessions.Streams;

/// <summary>
/// A snapshot of one <see cref="StreamMux"/>'s counters and estimates, from <see cref="StreamMux.GetStatistics"/>.
/// Recovery and congestion figures stay at their initial values on the reliable path, which has neither.
/// </summary>
public readonly record struct StreamMuxStatistics
{
    /// <summary>Gets smoothed_rtt (RFC 9002 §5.3); kInitialRtt before the first sample.</summary>
    public TimeSpan SmoothedRtt { get; init; }

    /// <summary>Gets rttvar (RFC 9002 §5.3).</summary>
    public TimeSpan RttVariation { get; init; }

    /// <summary>Gets min_rtt (RFC 9002 §5.2); zero before the first sample.</summary>
    public TimeSpan MinRtt { get; init; }

    /// <summary>Gets latest_rtt (RFC 9002 §5.1); zero before the first sample.</summary>
    public TimeSpan LatestRtt { get; init; }

    /// <summary>Gets the congestion window, bytes of datagrams (RFC 9002 §7).</summary>
    public long CongestionWindow { get; init; }

    /// <summary>Gets ssthresh, bytes; <see cref="long.MaxValue"/> until the first congestion event.</summary>
    public long SlowStartThreshold { get; init; }

    /// <summary>Gets bytes_in_flight, bytes of datagrams.</summary>
    public long BytesInFlight { get; init; }

    /// <summary>Gets packets sent (every packet, ACK-only ones included).</summary>
    public long PacketsSent { get; init; }

    /// <summary>Gets packets received and processed (duplicates and packets after close excluded).</summary>
    public long PacketsReceived { get; init; }

    /// <summary>Gets packets declared lost (RFC 9002 §6.1).</summary>
    public long PacketsLost { get; init; }

    /// <summary>Gets packets sent that carried retransmitted stream data.</summary>
    public long PacketsRetransmitted { get; init; }

    /// <summary>Gets received packets left unacknowledged because a stream's reassembly held its most ranges (the sender resends them).</summary>
    public long PacketsRefused { get; init; }

    /// <summary>Gets payload bytes sent (plaintext, without the session's header and tag).</summary>
    public long BytesSent { get; init; }

    /// <summary>Gets payload bytes received (plaintext).</summary>
    public long BytesReceived { get; init; }

    /// <summary>Gets stream data bytes sent again after a loss or for a probe.</summary>
    public long StreamBytesRetransmitted { get; init; }

    /// <summary>Gets congestion events that reduced the window.</summary>
    public long CongestionEvents { get; init; }

    /// <summary>Gets persistent-congestion collapses (RFC 9002 §7.6).</summary>
    public long PersistentCongestionEvents { get; init; }

    /// <summary>Gets probe timeouts fired (RFC 9002 §6.2).</summary>
    public long ProbeTimeouts { get; init; }

    /// <summary>Gets streams currently held (open, or closing and not yet forgotten).</summary>
    public int OpenStreams { get; init; }

    /// <summary>Gets bytes of pages held by send buffers now.</summary>
    public long SendBufferBytes { get; init; }

    /// <summary>Gets bytes of pages held by receive buffers now.</summary>
    public long ReceiveBufferBytes { get; init; }

    /// <summary>Gets the most bytes of pages receive buffers ever held at once.</summary>
    public long PeakReceiveBufferBytes { get; init; }

    /// <summary>Gets the most bytes of pages send buffers ever held at once.</summary>
    public long PeakSendBufferBytes { get; init; }
}
