namespace Overlay.Transport.Connections;

/// <summary>Limits and timers of a <see cref="ConnectionManager"/> (bound from the <c>Connections</c> section of
/// node.config.json in the daemon).</summary>
public sealed class ConnectionManagerOptions
{
    /// <summary>Gets or sets the most connections held at once, both directions. Default 512; range 1 ..= 65,536. Inbound
    /// sessions beyond it are closed at once ("connection limit"); dials beyond it fail.</summary>
    public int MaxConnections { get; set; } = 512;

    /// <summary>Gets or sets the most inbound connections from one IP address. Default 8; range 1 ..= 1,024.</summary>
    public int MaxConnectionsPerIp { get; set; } = 8;

    /// <summary>Gets or sets how long a connection with no open stream stays before it is closed ("idle"). Default 2 min;
    /// zero keeps idle connections.</summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Gets or sets how long a dial waits for one path before it also tries the next (RFC 8305 §5's "Connection
    /// Attempt Delay", recommended 250 ms). Default 250 ms; range 10 ms ..= 2 s.</summary>
    public TimeSpan AttemptDelay { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Gets or sets how long a stream the peer opened may take to name its protocol before it is reset. Default 10 s.</summary>
    public TimeSpan StreamHeaderTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Gets or sets how often idle connections and address changes are checked. Default 1 s.</summary>
    public TimeSpan MaintenanceInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Gets or sets the most accepted streams waiting in one protocol's listener; past it, new streams of that
    /// protocol are reset and counted. Default 64.</summary>
    public int ListenerBacklog { get; set; } = 64;

    /// <summary>Gets or sets how many events each subscriber's queue holds before the oldest are dropped. Default 256.</summary>
    public int EventQueueCapacity { get; set; } = 256;

    /// <summary>Checks every value against its range.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A value is out of its range; the message names the option.</exception>
    public void Validate()
    {
        Check(MaxConnections is >= 1 and <= 65_536, nameof(MaxConnections), MaxConnections, "1 ..= 65536");
        Check(MaxConnectionsPerIp is >= 1 and <= 1_024, nameof(MaxConnectionsPerIp), MaxConnectionsPerIp, "1 ..= 1024");
        Check(IdleTimeout >= TimeSpan.Zero, nameof(IdleTimeout), IdleTimeout, ">= 0");
        Check(AttemptDelay >= TimeSpan.FromMilliseconds(10) && AttemptDelay <= TimeSpan.FromSeconds(2), nameof(AttemptDelay), AttemptDelay, "10 ms ..= 2 s");
        Check(StreamHeaderTimeout > TimeSpan.Zero, nameof(StreamHeaderTimeout), StreamHeaderTimeout, "> 0");
        Check(MaintenanceInterval > TimeSpan.Zero, nameof(MaintenanceInterval), MaintenanceInterval, "> 0");
        Check(ListenerBacklog >= 1, nameof(ListenerBacklog), ListenerBacklog, ">= 1");
        Check(EventQueueCapacity >= 1, nameof(EventQueueCapacity), EventQueueCapacity, ">= 1");
    }

    private static void Check(bool ok, string name, object value, string range)
    {
        if (!ok)
        {
            throw new ArgumentOutOfRangeException(name, value, $"Connections:{name} must be in {range}, not {value}");
        }
    }
}
