using System.Net;

namespace Overlay.Node.Configuration;

/// <summary>
/// Per-node settings of the daemon, bound from the <c>Node</c> section of node.config.json, then
/// <c>OVERLAY__Node__Key</c>, then command-line flags. Validated by <see cref="Validate"/> at start-up.
/// </summary>
internal sealed class NodeOptions
{
    /// <summary>Section name in node.config.json.</summary>
    public const string SectionName = "Node";

    /// <summary>Default data directory: <c>~/.overlay</c> (identity key, blocks, api file).</summary>
    public const string DefaultDataDir = "~/.overlay";

    /// <summary>Default UDP (DHT) and TCP (block exchange) port: 4001 (the port IPFS nodes use for the same role).</summary>
    public const int DefaultPort = 4001;

    /// <summary>Default local API endpoint: 127.0.0.1:5001 (loopback only, the port Kubo's RPC API uses).</summary>
    public const string DefaultApi = "127.0.0.1:5001";

    /// <summary>Default listen address of the DHT and block exchange: loopback, until NAT traversal lands.</summary>
    public const string DefaultListenAddress = "127.0.0.1";

    /// <summary>Gets or sets the data directory; <c>~</c> expands to the home directory. Default <c>~/.overlay</c>.</summary>
    public string DataDir { get; set; } = DefaultDataDir;

    /// <summary>Gets or sets the UDP and TCP port. Default 4001; range 0..65535, 0 = any free port.</summary>
    public int Port { get; set; } = DefaultPort;

    /// <summary>Gets or sets the IP address the DHT (UDP) and block exchange (TCP) bind to. Default 127.0.0.1.</summary>
    public string ListenAddress { get; set; } = DefaultListenAddress;

    /// <summary>Gets or sets whether peers' secure sessions may run over UDP on <see cref="Port"/> (dialled first, TCP
    /// raced 250 ms later, RFC 8305). False: sessions run over TCP only, in both directions (for a network that drops UDP:
    /// dials skip the wait; peers dialling this node over UDP get no answer and fall back to TCP). The DHT always uses
    /// UDP. Default true.</summary>
    public bool UdpSessions { get; set; } = true;

    /// <summary>Gets or sets the local HTTP API endpoint, <c>host:port</c> or <c>http://host:port</c>; must be loopback unless <see cref="AllowRemoteApi"/>. Port 0 = any free port (see the data directory's <c>api</c> file). Default 127.0.0.1:5001.</summary>
    public string Api { get; set; } = DefaultApi;

    /// <summary>Gets or sets whether the API may listen on a non-loopback address (its token would cross the network in clear text: plain HTTP). Default false.</summary>
    public bool AllowRemoteApi { get; set; }

    /// <summary>Gets or sets the bootstrap contacts, each <c>host:port</c> (UDP), tried after the peer cache. Default empty (the first node of a swarm).</summary>
    public string[] Bootstrap { get; set; } = [];

    /// <summary>
    /// Gets or sets the delay before the first bootstrap retry while no contact answers; doubled on each further retry
    /// up to <see cref="BootstrapRetryMaxDelay"/>. Retries never stop while the routing table is empty. Default 1 s;
    /// range 10 ms..5 min.
    /// </summary>
    public TimeSpan BootstrapRetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Gets or sets the longest delay between bootstrap retries. Default 1 min (a node whose bootstrap peer was down
    /// joins within a minute of it coming back, at one PING per contact per minute); range BootstrapRetryDelay..1 h.
    /// </summary>
    public TimeSpan BootstrapRetryMaxDelay { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// Gets or sets how often the node checks that its routing table still has contacts (it bootstraps again when it
    /// has emptied) and saves its peer cache (<c>&lt;data-dir&gt;/peers</c>). Default 10 s; range 10 ms..1 h.
    /// </summary>
    public TimeSpan JoinCheckInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Gets or sets the bound on finding providers for content that is not local. Default 60 s; range 100 ms..1 h.</summary>
    public TimeSpan GetTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Gets or sets the bound on fetching a whole DAG from its providers. Default 30 min; range 1 s..24 h.</summary>
    public TimeSpan FetchTimeout { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>Gets or sets the most providers a get asks the DHT for. Default 20; range 1..100.</summary>
    public int MaxProviders { get; set; } = 20;

    /// <summary>Checks every option.</summary>
    /// <returns>One message per bad option naming section, key, value and the allowed range; empty when valid.</returns>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(DataDir))
        {
            errors.Add("Node:DataDir must not be empty.");
        }

        if (Port is < 0 or > 65535)
        {
            errors.Add($"Node:Port = {Port} is out of range 0..65535 (0 = any free port).");
        }

        if (!IPAddress.TryParse(ListenAddress, out _))
        {
            errors.Add($"Node:ListenAddress = '{ListenAddress}' is not an IP address.");
        }

        if (!TryParseApi(Api, out var api, out var apiError))
        {
            errors.Add($"Node:Api = '{Api}' {apiError}.");
        }
        else if (!AllowRemoteApi && !IPAddress.IsLoopback(api.Address))
        {
            errors.Add($"Node:Api = '{Api}' is not a loopback address; the API is plain HTTP and its token would cross the network in clear text (set Node:AllowRemoteApi = true to allow it).");
        }

        for (var i = 0; i < Bootstrap.Length; i++)
        {
            if (!HostPort.TryParse(Bootstrap[i], out _, out var error))
            {
                errors.Add($"Node:Bootstrap:{i} = '{Bootstrap[i]}' {error}.");
            }
        }

        CheckRange(errors, nameof(BootstrapRetryDelay), BootstrapRetryDelay, TimeSpan.FromMilliseconds(10), TimeSpan.FromMinutes(5));
        CheckRange(errors, nameof(BootstrapRetryMaxDelay), BootstrapRetryMaxDelay, BootstrapRetryDelay, TimeSpan.FromHours(1));
        CheckRange(errors, nameof(JoinCheckInterval), JoinCheckInterval, TimeSpan.FromMilliseconds(10), TimeSpan.FromHours(1));
        CheckRange(errors, nameof(GetTimeout), GetTimeout, TimeSpan.FromMilliseconds(100), TimeSpan.FromHours(1));
        CheckRange(errors, nameof(FetchTimeout), FetchTimeout, TimeSpan.FromSeconds(1), TimeSpan.FromHours(24));
        CheckRange(errors, nameof(MaxProviders), MaxProviders, 1, 100);
        return errors;
    }

    /// <summary>Parses the API endpoint: <c>host:port</c> or <c>http://host:port</c>, host an IP address or <c>localhost</c>, port 0..65535 (0 = any free port).</summary>
    /// <param name="text">The configured text.</param>
    /// <param name="endPoint">The endpoint to listen on.</param>
    /// <param name="error">Why it does not parse.</param>
    /// <returns>Whether it parsed.</returns>
    public static bool TryParseApi(string? text, out IPEndPoint endPoint, out string error)
    {
        endPoint = new IPEndPoint(IPAddress.Loopback, 0);
        if (string.IsNullOrWhiteSpace(text))
        {
            error = "is empty";
            return false;
        }

        var trimmed = text.Trim();
        if (trimmed.StartsWith("http://", StringComparison.OrdinalIgnoreCase))
        {
            trimmed = trimmed["http://".Length..].TrimEnd('/');
        }
        else if (trimmed.Contains("://", StringComparison.Ordinal))
        {
            error = "must be host:port or http://host:port";
            return false;
        }

        if (!HostPort.TryParse(trimmed, out var hostPort, out error, allowPortZero: true))
        {
            return false;
        }

        var address = hostPort.Host.Equals("localhost", StringComparison.OrdinalIgnoreCase)
            ? IPAddress.Loopback
            : IPAddress.TryParse(hostPort.Host, out var parsed) ? parsed : null;
        if (address is null)
        {
            error = "must name an IP address or localhost";
            return false;
        }

        endPoint = new IPEndPoint(address, hostPort.Port);
        return true;
    }

    private static void CheckRange<T>(List<string> errors, string key, T value, T min, T max)
        where T : IComparable<T>
    {
        if (value.CompareTo(min) < 0 || value.CompareTo(max) > 0)
        {
            errors.Add($"Node:{key} = {value} is out of range {min}..{max}.");
        }
    }
}
