namespace Overlay.Exchange;

/// <summary>
/// Block exchange settings, bound from the "Exchange" configuration section. Call <see cref="Validate"/> at start.
/// </summary>
public sealed class ExchangeOptions
{
    /// <summary>Configuration section name: "Exchange".</summary>
    public const string SectionName = "Exchange";

    /// <summary>Wire protocol version sent and accepted: 1.</summary>
    public const uint ProtocolVersion = 1;

    /// <summary>Default <see cref="MaxFrameBytes"/>: 2 MiB + 1 KiB (2,098,176 bytes), a 2 MiB block (the largest
    /// block IPFS implementations exchange, bitswap's limit) plus room for the response envelope.</summary>
    public const int DefaultMaxFrameBytes = (2 * 1024 * 1024) + 1024;

    /// <summary>Default <see cref="RequestWindow"/>: 8 in-flight requests per provider connection, enough to
    /// cover the bandwidth-delay product of 1 MiB blocks on a LAN without flooding one peer.</summary>
    public const int DefaultRequestWindow = 8;

    /// <summary>Default <see cref="MaxConnections"/>: 256 concurrent server connections.</summary>
    public const int DefaultMaxConnections = 256;

    /// <summary>Default <see cref="ConnectTimeout"/>: 5 seconds, as libp2p's default dial timeout.</summary>
    public static readonly TimeSpan DefaultConnectTimeout = TimeSpan.FromSeconds(5);

    /// <summary>Default <see cref="RequestTimeout"/>: 30 seconds per block request.</summary>
    public static readonly TimeSpan DefaultRequestTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Default <see cref="IdleTimeout"/>: 2 minutes without a request before the server closes a connection.</summary>
    public static readonly TimeSpan DefaultIdleTimeout = TimeSpan.FromMinutes(2);

    /// <summary>Gets or sets the largest frame accepted or sent, in bytes, excluding the 4-byte length prefix.
    /// Default <see cref="DefaultMaxFrameBytes"/>; range 1,024..67,108,864.</summary>
    public int MaxFrameBytes { get; set; } = DefaultMaxFrameBytes;

    /// <summary>Gets or sets the number of requests a fetcher keeps in flight per provider connection.
    /// Default <see cref="DefaultRequestWindow"/>; range 1..256.</summary>
    public int RequestWindow { get; set; } = DefaultRequestWindow;

    /// <summary>Gets or sets how long a fetcher waits for a provider connection to open.
    /// Default <see cref="DefaultConnectTimeout"/>; range 1 ms..5 minutes.</summary>
    public TimeSpan ConnectTimeout { get; set; } = DefaultConnectTimeout;

    /// <summary>Gets or sets how long a fetcher waits for one block response; a provider that exceeds it is dropped.
    /// Default <see cref="DefaultRequestTimeout"/>; range 1 ms..10 minutes.</summary>
    public TimeSpan RequestTimeout { get; set; } = DefaultRequestTimeout;

    /// <summary>Gets or sets how long the server keeps a connection with no incoming request.
    /// Default <see cref="DefaultIdleTimeout"/>; range 1 second..1 hour.</summary>
    public TimeSpan IdleTimeout { get; set; } = DefaultIdleTimeout;

    /// <summary>Gets or sets the most connections the server serves at once; further connections are closed on accept.
    /// Default <see cref="DefaultMaxConnections"/>; range 1..65,536.</summary>
    public int MaxConnections { get; set; } = DefaultMaxConnections;

    /// <summary>Checks every value against its range.</summary>
    /// <returns>One message per invalid value, e.g. "Exchange:RequestWindow = 0 is out of range 1..256"; empty if valid.</returns>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        Check(errors, nameof(MaxFrameBytes), MaxFrameBytes, 1024, 64 * 1024 * 1024);
        Check(errors, nameof(RequestWindow), RequestWindow, 1, 256);
        Check(errors, nameof(MaxConnections), MaxConnections, 1, 65_536);
        Check(errors, nameof(ConnectTimeout), ConnectTimeout, TimeSpan.FromMilliseconds(1), TimeSpan.FromMinutes(5));
        Check(errors, nameof(RequestTimeout), RequestTimeout, TimeSpan.FromMilliseconds(1), TimeSpan.FromMinutes(10));
        Check(errors, nameof(IdleTimeout), IdleTimeout, TimeSpan.FromSeconds(1), TimeSpan.FromHours(1));
        return errors;
    }

    /// <summary>Throws if <see cref="Validate"/> reports anything.</summary>
    /// <exception cref="ArgumentException">An option is out of range; the message lists every problem.</exception>
    internal void ThrowIfInvalid()
    {
        var errors = Validate();
        if (errors.Count > 0)
        {
            throw new ArgumentException(string.Join("; ", errors));
        }
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
