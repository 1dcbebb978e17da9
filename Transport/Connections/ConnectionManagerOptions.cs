namespace Overlay.Transport.Connections;

/// <summary>Limits and timers of a <see cref="ConnectionManager"/> (bound from the <c>Connections</c> section of
/// node.config.json in the daemon).</summary>
public sealed class ConnectionManagerOptions
{
    /// <summary>Gets or sets the most connections held at once, both directions. Default 512; range 1 ..= 65,536. Inbound
    /// sessions beyond it are closed at once ("connection limit"); dials beyond it fail.</summary>
    public int MaxConnections { get; set; } = 512;

    /// <summary>Gets or sets the most inbound connections from one IP address (IPv4-mapped IPv6 counts as IPv4; on
    /// loopback, from one address and port, as a local swarm's nodes share 127.0.0.1). Default 8; range 1 ..= 1,024.</summary>
    public int MaxConnectionsPerIp { get; set; } = 8;

    /// <summary>Gets or sets how long a connection with no open stream stays before it is closed ("idle"). Default 2 min;
    /// range 0 ..= 1 day; zero keeps idle connections.</summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Gets or sets how long a dial waits for one path before it also tries the next (RFC 8305 §5's "Connection
    /// Attempt Delay", recommended 250 ms). Default 250 ms; range 10 ms ..= 2 s.</summary>
    public TimeSpan AttemptDelay { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Gets or sets how long a stream the peer opened may take to name its protocol before it is reset. Default 10 s; range 10 ms ..= 5 min.</summary>
    public TimeSpan StreamHeaderTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Gets or sets how often idle connections and address changes are checked. Default 1 s; range 10 ms ..= 5 min.</summary>
    public TimeSpan MaintenanceInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Gets or sets the most accepted streams waiting in one protocol's listener; past it, new streams of that
    /// protocol are reset and counted. Default 64; range 1 ..= 65,536.</summary>
    public int ListenerBacklog { get; set; } = 64;

    /// <summary>Gets or sets how many events each subscriber's queue holds before the oldest are dropped. Default 256; range 1 ..= 65,536.</summary>
    public int EventQueueCapacity { get; set; } = 256;

    /// <summary>The configuration section these options bind to: <c>Connections</c>.</summary>
    public const string SectionName = "Connections";

    /// <summary>Checks every value against its range.</summary>
    /// <returns>One message per invalid value, e.g. "Connections:MaxConnections = 0 is out of range 1..65536"; empty if valid.</returns>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        Check(errors, nameof(MaxConnections), MaxConnections, 1, 65_536);
        Check(errors, nameof(MaxConnectionsPerIp), MaxConnectionsPerIp, 1, 1_024);
        Check(errors, nameof(IdleTimeout), IdleTimeout, TimeSpan.Zero, TimeSpan.FromDays(1));
        Check(errors, nameof(AttemptDelay), AttemptDelay, TimeSpan.FromMilliseconds(10), TimeSpan.FromSeconds(2));
        Check(errors, nameof(StreamHeaderTimeout), StreamHeaderTimeout, TimeSpan.FromMilliseconds(10), TimeSpan.FromMinutes(5));
        Check(errors, nameof(MaintenanceInterval), MaintenanceInterval, TimeSpan.FromMilliseconds(10), TimeSpan.FromMinutes(5));
        Check(errors, nameof(ListenerBacklog), ListenerBacklog, 1, 65_536);
        Check(errors, nameof(EventQueueCapacity), EventQueueCapacity, 1, 65_536);
        return errors;
    }

    private static void Check<T>(List<string> errors, string name, T value, T min, T max)
        where T : IComparable<T>
    {
        if (value.CompareTo(min) < 0 || value.CompareTo(max) > 0)
        {
            errors.Add($"{SectionName}:{name} = {value} is out of range {min}..{max}");
        }
    }
}
