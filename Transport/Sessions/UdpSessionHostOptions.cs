namespace Overlay.Transport.Sessions;

/// <summary>Parameters of a <see cref="UdpSessionHost"/>: the endpoint's <see cref="SessionOptions"/> and the host's own
/// timer and queue caps. Validated when the host is created.</summary>
public sealed class UdpSessionHostOptions
{
    /// <summary>Default <see cref="TimerInterval"/>: 250 ms, the longest gap <see cref="UdpSessionEndpoint.OnTimer"/> allows.</summary>
    public static readonly TimeSpan DefaultTimerInterval = TimeSpan.FromMilliseconds(250);

    /// <summary>Default <see cref="AcceptQueueCapacity"/>: 64 inbound sessions.</summary>
    public const int DefaultAcceptQueueCapacity = 64;

    /// <summary>Default <see cref="LinkQueueCapacity"/>: 4,096 payloads (about 5 MB), as many as the in-memory test link
    /// holds; at 1,203 bytes each that is more than a 1 MiB stream window in flight, so a reader that keeps up never
    /// loses one here.</summary>
    public const int DefaultLinkQueueCapacity = 4096;

    /// <summary>Gets or sets the endpoint's timers and caps (handshake retries, keepalive, dead interval, rekey, session
    /// cap). Default: <see cref="SessionOptions"/>' defaults.</summary>
    public SessionOptions Session { get; set; } = new();

    /// <summary>Gets or sets how often the host runs the endpoint's timers: default 250 ms, range 1 ms ..= 250 ms.</summary>
    public TimeSpan TimerInterval { get; set; } = DefaultTimerInterval;

    /// <summary>Gets or sets how many inbound sessions may wait for <see cref="UdpSessionHost.AcceptAsync"/>; past it a new
    /// inbound session is closed at once and counted (<see cref="UdpSessionHost.AcceptOverflows"/>). Default 64, range 1 ..= 65,536.</summary>
    public int AcceptQueueCapacity { get; set; } = DefaultAcceptQueueCapacity;

    /// <summary>Gets or sets how many received payloads a <see cref="UdpPacketLink"/> holds for its reader; past it
    /// arrivals are dropped and counted (<see cref="UdpPacketLink.QueueOverflows"/>): UDP drops rather than waits, and the
    /// stream layer resends. Default 4,096, range 16 ..= 1,048,576.</summary>
    public int LinkQueueCapacity { get; set; } = DefaultLinkQueueCapacity;

    /// <summary>Checks every option.</summary>
    /// <exception cref="ArgumentException">An option is out of range; the message names it, its value and the range.</exception>
    internal void Validate()
    {
        ArgumentNullException.ThrowIfNull(Session);
        if (TimerInterval < TimeSpan.FromMilliseconds(1) || TimerInterval > DefaultTimerInterval)
        {
            throw new ArgumentException($"UdpSessionHostOptions.TimerInterval = {TimerInterval} is outside 1 ms ..= 250 ms.");
        }

        if (AcceptQueueCapacity is < 1 or > 65_536)
        {
            throw new ArgumentException($"UdpSessionHostOptions.AcceptQueueCapacity = {AcceptQueueCapacity} is outside 1 ..= 65536.");
        }

        if (LinkQueueCapacity is < 16 or > 1 << 20)
        {
            throw new ArgumentException($"UdpSessionHostOptions.LinkQueueCapacity = {LinkQueueCapacity} is outside 16 ..= 1048576.");
        }
    }
}
