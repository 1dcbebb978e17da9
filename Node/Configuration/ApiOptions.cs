namespace Overlay.Node.Configuration;

/// <summary>
/// Who besides the CLI may call the local API, bound from the <c>Api</c> section of node.config.json, then
/// <c>OVERLAY__Api__Key</c>. Validated by <see cref="Validate"/> at start-up. See ARCHITECTURE.md, "Threat model".
/// </summary>
internal sealed class ApiOptions
{
    /// <summary>Section name in node.config.json.</summary>
    public const string SectionName = "Api";

    /// <summary>
    /// Gets or sets the web origins whose pages may call the API, each <c>scheme://host[:port]</c> as a browser sends it
    /// in the <c>Origin</c> header (RFC 6454 §6.2): scheme http or https, no path, query, fragment or user name.
    /// Matched exactly after lower-casing scheme and host and dropping the scheme's default port, so
    /// <c>HTTP://Example.org:80</c> lists <c>http://example.org</c>. A listed origin is answered with CORS headers and
    /// is trusted like the CLI, so its pages still need the API token; every other origin is refused with 403.
    /// Default empty (no web page may call the API, as Kubo's <c>API.HTTPHeaders</c> default).
    /// </summary>
    public string[] AllowedOrigins { get; set; } = [];

    /// <summary>Checks every option.</summary>
    /// <returns>One message per bad option naming section, key, value and the expected form; empty when valid.</returns>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        for (var i = 0; i < AllowedOrigins.Length; i++)
        {
            if (!TryNormalizeOrigin(AllowedOrigins[i], out _, out var reason))
            {
                errors.Add($"Api:AllowedOrigins:{i} = '{AllowedOrigins[i]}' is not an origin scheme://host[:port] ({reason}), e.g. http://localhost:8080.");
            }
        }

        return errors;
    }

    /// <summary>
    /// Returns the canonical form of a web origin: <c>scheme://host</c> or <c>scheme://host:port</c>, scheme and host
    /// lower case, the scheme's default port (80, 443) left out, IPv6 hosts in brackets.
    /// </summary>
    /// <param name="text">An origin as configured or as sent in an <c>Origin</c> header.</param>
    /// <param name="origin">The canonical origin, or empty when it does not parse.</param>
    /// <param name="reason">Why it does not parse.</param>
    /// <returns>Whether <paramref name="text"/> is an http or https origin with nothing after the port.</returns>
    public static bool TryNormalizeOrigin(string? text, out string origin, out string reason)
    {
        origin = string.Empty;
        if (string.IsNullOrWhiteSpace(text) || !Uri.TryCreate(text.Trim(), UriKind.Absolute, out var uri))
        {
            reason = "not an absolute URL";
            return false;
        }

        if (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)
        {
            reason = "the scheme must be http or https";
            return false;
        }

        // An origin has no path: a trailing "/" is the only path Uri reports for "http://host".
        if (uri.AbsolutePath != "/" || text.Trim().EndsWith('/') || uri.Query.Length > 0 || uri.Fragment.Length > 0 || uri.UserInfo.Length > 0)
        {
            reason = "an origin has no path, query, fragment, user name or trailing slash";
            return false;
        }

        origin = uri.IsDefaultPort ? $"{uri.Scheme}://{uri.Host}" : $"{uri.Scheme}://{uri.Host}:{uri.Port}";
        reason = string.Empty;
        return true;
    }

    /// <summary>Returns the canonical forms of <see cref="AllowedOrigins"/> (call after <see cref="Validate"/> found none bad).</summary>
    /// <returns>A case-sensitive set of canonical origins; entries that do not parse are left out.</returns>
    public IReadOnlySet<string> NormalizedOrigins()
    {
        var set = new HashSet<string>(StringComparer.Ordinal);
        foreach (var text in AllowedOrigins)
        {
            if (TryNormalizeOrigin(text, out var origin, out _))
            {
                set.Add(origin);
            }
        }

        return set;
    }
}
