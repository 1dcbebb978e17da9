namespace Overlay.Transport.Sessions.Streams.Internal;

/// <summary>
/// NewReno congestion control as RFC 9002 §7 and Appendix B: slow start until the first congestion event, a recovery
/// period (one reduction per round trip: losses of packets sent before it began do not reduce again), congestion
/// avoidance of one datagram per window acknowledged, and a collapse to the minimum window on persistent congestion.
/// Bytes are datagram bytes (payload plus the session's header and tag). Not thread-safe.
/// </summary>
/// <remarks>
/// Deviation: Appendix B adds max_datagram_size · acked / cwnd per acknowledgement with integer division, which
/// truncates to zero for small packets; we accumulate acknowledged bytes and add one datagram per full window
/// (the same rate, without the truncation).
/// </remarks>
internal sealed class NewRenoController
{
    private long _acknowledgedInAvoidance;

    /// <summary>Creates a controller at the initial window.</summary>
    /// <param name="maxDatagramBytes">max_datagram_size, bytes (1232 by default).</param>
    public NewRenoController(int maxDatagramBytes)
    {
        MaxDatagramBytes = maxDatagramBytes;
        MinimumWindow = 2L * maxDatagramBytes;
        Window = Math.Min(10L * maxDatagramBytes, Math.Max(14_720, 2L * maxDatagramBytes));
    }

    /// <summary>Gets max_datagram_size, bytes.</summary>
    public int MaxDatagramBytes { get; }

    /// <summary>Gets kMinimumWindow (§7.2): 2 · max_datagram_size, bytes.</summary>
    public long MinimumWindow { get; }

    /// <summary>Gets congestion_window, bytes; starts at kInitialWindow = min(10 · mds, max(14720, 2 · mds)) (§7.2).</summary>
    public long Window { get; private set; }

    /// <summary>Gets ssthresh, bytes; <see cref="long.MaxValue"/> until the first congestion event.</summary>
    public long SlowStartThreshold { get; private set; } = long.MaxValue;

    /// <summary>Gets bytes_in_flight: datagram bytes of ack-eliciting packets sent and neither acknowledged nor lost.</summary>
    public long BytesInFlight { get; private set; }

    /// <summary>Gets congestion_recovery_start_time; null outside any recovery period so far.</summary>
    public TimeSpan? RecoveryStart { get; private set; }

    /// <summary>Gets how many congestion events reduced the window.</summary>
    public long CongestionEvents { get; private set; }

    /// <summary>Gets how many times persistent congestion collapsed the window.</summary>
    public long PersistentCongestionEvents { get; private set; }

    /// <summary>Gets or sets whether the sender is application-limited (§7.8): then acknowledgements do not grow the window.</summary>
    public bool ApplicationLimited { get; set; }

    /// <summary>Gets whether the controller is in slow start (window below ssthresh).</summary>
    public bool InSlowStart => Window < SlowStartThreshold;

    /// <summary>Returns whether a packet of <paramref name="bytes"/> may be sent without exceeding the window (§7).</summary>
    /// <param name="bytes">Datagram bytes.</param>
    /// <returns>True when bytes_in_flight + bytes ≤ congestion_window.</returns>
    public bool CanSend(int bytes) => BytesInFlight + bytes <= Window;

    /// <summary>Counts an ack-eliciting packet as in flight.</summary>
    /// <param name="bytes">Datagram bytes.</param>
    public void OnPacketSent(int bytes) => BytesInFlight += bytes;

    /// <summary>Handles one newly acknowledged packet (OnPacketsAcked, Appendix B.5).</summary>
    /// <param name="bytes">Its datagram bytes.</param>
    /// <param name="timeSent">When it was sent.</param>
    public void OnPacketAcked(int bytes, TimeSpan timeSent)
    {
        BytesInFlight -= bytes;
        if (ApplicationLimited || (RecoveryStart is { } start && timeSent <= start))
        {
            return;
        }

        if (Window < SlowStartThreshold)
        {
            Window += bytes;
            return;
        }

        _acknowledgedInAvoidance += bytes;
        if (_acknowledgedInAvoidance >= Window)
        {
            _acknowledgedInAvoidance -= Window;
            Window += MaxDatagramBytes;
        }
    }

    /// <summary>Removes a lost packet from bytes in flight (the reduction is <see cref="OnCongestionEvent"/>).</summary>
    /// <param name="bytes">Its datagram bytes.</param>
    public void OnPacketLost(int bytes) => BytesInFlight -= bytes;

    /// <summary>Enters recovery unless the packet was sent during the current one (OnCongestionEvent, Appendix B.6).</summary>
    /// <param name="timeSent">When the (largest) lost packet was sent.</param>
    /// <param name="now">The current time: the recovery period starts here.</param>
    public void OnCongestionEvent(TimeSpan timeSent, TimeSpan now)
    {
        if (RecoveryStart is { } start && timeSent <= start)
        {
            return;
        }

        RecoveryStart = now;
        SlowStartThreshold = Window / 2;
        Window = Math.Max(SlowStartThreshold, MinimumWindow);
        _acknowledgedInAvoidance = 0;
        CongestionEvents++;
    }

    /// <summary>Collapses the window to the minimum (§7.6.2) and forgets the recovery period, keeping ssthresh.</summary>
    public void OnPersistentCongestion()
    {
        Window = MinimumWindow;
        RecoveryStart = null;
        _acknowledgedInAvoidance = 0;
        PersistentCongestionEvents++;
    }
}
