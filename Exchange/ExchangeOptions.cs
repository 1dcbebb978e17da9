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

    /// <summary>
    /// Default <see cref="MaxConnections"/>: 256 concurrent server connections. Each holds at most one response in
    /// memory (see <see cref="BlockExchangeServer"/>), so this is also the server's memory bound: with the default frame
    /// limit, at most about 256 × 2 MiB = 512 MiB of responses being written at once.
    /// </summary>
    public const int DefaultMaxConnections = 256;

    /// <summary>
    /// Default <see cref="MaxConnectionsPerIp"/>: 16. A fetcher opens one connection per provider per fetch
    /// (<see cref="BlockFetcher"/>), so one node needs one connection per concurrent fetch, and a few nodes behind one
    /// NAT share an address; 16 covers that with room to spare. It is 1/16 of <see cref="DefaultMaxConnections"/>, so
    /// filling the server takes at least 16 distinct addresses (IPv4) or /64 prefixes (IPv6) instead of one host.
    /// </summary>
    public const int DefaultMaxConnectionsPerIp = 16;

    /// <summary>
    /// Largest request frame the server accepts: 1,024 bytes, excluding the 4-byte length prefix. A
    /// <c>BlockRequest</c> is a version, a request id and a binary CID (36 bytes for sha2-256, 68 for sha2-512): under
    /// 100 bytes. Bounding requests far below <see cref="MaxFrameBytes"/> means a peer that announces a large frame and
    /// trickles it makes the server hold 1 KiB, not 2 MiB.
    /// </summary>
    public const int MaxRequestFrameBytes = 1024;

    /// <summary>Default <see cref="ConnectTimeout"/>: 5 seconds, as libp2p's default dial timeout.</summary>
    public static readonly TimeSpan DefaultConnectTimeout = TimeSpan.FromSeconds(5);

    /// <summary>Default <see cref="RequestTimeout"/>: 30 seconds per block request.</summary>
    public static readonly TimeSpan DefaultRequestTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Default <see cref="IdleTimeout"/>: 2 minutes without a request before the server closes a connection.</summary>
    public static readonly TimeSpan DefaultIdleTimeout = TimeSpan.FromMinutes(2);

    /// <summary>
    /// Default <see cref="FirstRequestTimeout"/>: 10 seconds. A fetcher connects only when it has a request to send and
    /// writes it as soon as the connection opens (<see cref="BlockFetcher"/>), so an honest first request arrives one
    /// round trip after the handshake; 10 s leaves room for a few lost segments (TCP's initial retransmission timeout is
    /// 1 s, RFC 6298) while an idle connection that only occupies a slot is closed 12 times sooner than by
    /// <see cref="DefaultIdleTimeout"/>. Kestrel's comparable RequestHeadersTimeout is 30 s for far larger headers.
    /// </summary>
    public static readonly TimeSpan DefaultFirstRequestTimeout = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Default <see cref="FrameTimeout"/>: 30 seconds, the fetcher's <see cref="DefaultRequestTimeout"/>. A request
    /// frame (at most <see cref="MaxRequestFrameBytes"/>) normally arrives in one segment; 30 s survives four successive
    /// retransmissions (1 + 2 + 4 + 8 s). The same bound applies to answering one request (store read and write of the
    /// response): a 2 MiB block in 30 s needs about 70 KB/s from the requester, a 1 MiB chunk 35 KB/s.
    /// </summary>
    public static readonly TimeSpan DefaultFrameTimeout = TimeSpan.FromSeconds(30);

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

    /// <summary>Gets or sets how long the server keeps a connection with no incoming request, from the end of one
    /// response to the first byte of the next request. Default <see cref="DefaultIdleTimeout"/>; range 1 second..1 hour.</summary>
    public TimeSpan IdleTimeout { get; set; } = DefaultIdleTimeout;

    /// <summary>Gets or sets how long the server waits, from accepting a connection, for the first byte of its first
    /// request. Default <see cref="DefaultFirstRequestTimeout"/>; range 100 ms..10 minutes.</summary>
    public TimeSpan FirstRequestTimeout { get; set; } = DefaultFirstRequestTimeout;

    /// <summary>Gets or sets how long the server gives a request frame to arrive once its first byte has (the deadline
    /// is not extended by later bytes, so trickling is cut), and how long it gives one answer (store read and write of
    /// the response frame). Default <see cref="DefaultFrameTimeout"/>; range 100 ms..10 minutes.</summary>
    public TimeSpan FrameTimeout { get; set; } = DefaultFrameTimeout;

    /// <summary>
    /// Gets or sets the most connections the server serves at once. When they are all taken, a newcomer evicts the
    /// connection that has waited longest for a request (never-used connections first); it is refused only when every
    /// connection is in the middle of a request (ARCHITECTURE.md, "Block exchange"). Default
    /// <see cref="DefaultMaxConnections"/>; range 1..65,536.
    /// </summary>
    public int MaxConnections { get; set; } = DefaultMaxConnections;

    /// <summary>
    /// Gets or sets the most connections the server serves at once from one IPv4 address or one IPv6 /64 prefix
    /// (IPv4-mapped IPv6 addresses count as IPv4); further ones are closed on accept and never evict another. Default
    /// <see cref="DefaultMaxConnectionsPerIp"/>; range 1..<see cref="MaxConnections"/>.
    /// </summary>
    public int MaxConnectionsPerIp { get; set; } = DefaultMaxConnectionsPerIp;

    /// <summary>Checks every value against its range.</summary>
    /// <returns>One message per invalid value, e.g. "Exchange:RequestWindow = 0 is out of range 1..256"; empty if valid.</returns>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        Check(errors, nameof(MaxFrameBytes), MaxFrameBytes, 1024, 64 * 1024 * 1024);
        Check(errors, nameof(RequestWindow), RequestWindow, 1, 256);
        Check(errors, nameof(MaxConnections), MaxConnections, 1, 65_536);
        Check(errors, nameof(MaxConnectionsPerIp), MaxConnectionsPerIp, 1, Math.Clamp(MaxConnections, 1, 65_536));
        Check(errors, nameof(ConnectTimeout), ConnectTimeout, TimeSpan.FromMilliseconds(1), TimeSpan.FromMinutes(5));
        Check(errors, nameof(RequestTimeout), RequestTimeout, TimeSpan.FromMilliseconds(1), TimeSpan.FromMinutes(10));
        Check(errors, nameof(IdleTimeout), IdleTimeout, TimeSpan.FromSeconds(1), TimeSpan.FromHours(1));
        Check(errors, nameof(FirstRequestTimeout), FirstRequestTimeout, TimeSpan.FromMilliseconds(100), TimeSpan.FromMinutes(10));
        Check(errors, nameof(FrameTimeout), FrameTimeout, TimeSpan.FromMilliseconds(100), TimeSpan.FromMinutes(10));
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
