namespace Overlay.Testing.Streams;

/// <summary>
/// How a simulated one-way path treats packets (<see cref="LossyLink"/>). Every random choice comes from a
/// <see cref="Random"/> seeded with <see cref="Seed"/>, so a run repeats exactly.
/// </summary>
public sealed record LossyLinkOptions
{
    /// <summary>Gets the one-way propagation delay. Default 10 ms (a 20 ms RTT).</summary>
    public TimeSpan Delay { get; init; } = TimeSpan.FromMilliseconds(10);

    /// <summary>Gets the probability, 0..1, that a packet is lost. Default 0.</summary>
    public double LossRate { get; init; }

    /// <summary>Gets the probability, 0..1, that a packet is held back by <see cref="ReorderDelay"/> (so later ones overtake it). Default 0.</summary>
    public double ReorderRate { get; init; }

    /// <summary>Gets the extra delay of a reordered packet, uniform in (0, this]. Default 5 ms.</summary>
    public TimeSpan ReorderDelay { get; init; } = TimeSpan.FromMilliseconds(5);

    /// <summary>Gets the probability, 0..1, that a packet is delivered twice (the copy is dropped by the receiver's replay filter, as the session layer would). Default 0.</summary>
    public double DuplicateRate { get; init; }

    /// <summary>Gets the bottleneck rate in bytes per second of datagram bytes (payload + overhead); 0 for none. Default 0.</summary>
    public long BandwidthBytesPerSecond { get; init; }

    /// <summary>Gets the bottleneck's queue, bytes: a packet that finds it full is dropped (drop-tail). Default 256 KiB.</summary>
    public int QueueBytes { get; init; } = 256 * 1024;

    /// <summary>Gets the bytes each packet carries beyond its payload on the wire (session header and tag). Default 29.</summary>
    public int OverheadBytes { get; init; } = 29;

    /// <summary>Gets the random seed. Default 1.</summary>
    public int Seed { get; init; } = 1;
}
