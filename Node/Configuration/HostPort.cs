using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Overlay.Node.Configuration;

/// <summary>A <c>host:port</c> pair as written in configuration and on the command line; IPv6 hosts in brackets.</summary>
/// <param name="Host">Host name or IP address (without brackets).</param>
/// <param name="Port">Port, 1..65535 (0 only where <see cref="TryParse"/> was told to allow it).</param>
internal readonly record struct HostPort(string Host, int Port)
{
    /// <summary>Parses <c>host:port</c> or <c>[v6]:port</c>.</summary>
    /// <param name="text">The text.</param>
    /// <param name="value">The parsed pair.</param>
    /// <param name="error">Why it does not parse ("is not host:port", ...), for messages.</param>
    /// <param name="allowPortZero">Whether port 0 ("any free port", for listening endpoints) is accepted; default false (1..65535).</param>
    /// <returns>Whether it parsed.</returns>
    public static bool TryParse(string? text, out HostPort value, out string error, bool allowPortZero = false)
    {
        value = default;
        var trimmed = text?.Trim() ?? string.Empty;
        string host;
        string portText;
        if (trimmed.StartsWith('['))
        {
            var close = trimmed.IndexOf(']', StringComparison.Ordinal);
            if (close < 0 || close + 1 >= trimmed.Length || trimmed[close + 1] != ':')
            {
                error = "is not [address]:port";
                return false;
            }

            host = trimmed[1..close];
            portText = trimmed[(close + 2)..];
        }
        else
        {
            var colon = trimmed.LastIndexOf(':');
            if (colon <= 0 || trimmed.IndexOf(':', StringComparison.Ordinal) != colon)
            {
                error = "is not host:port";
                return false;
            }

            host = trimmed[..colon];
            portText = trimmed[(colon + 1)..];
        }

        var minPort = allowPortZero ? 0 : 1;
        if (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port < minPort || port > 65535)
        {
            error = $"has no port in {minPort}..65535";
            return false;
        }

        value = new HostPort(host, port);
        error = string.Empty;
        return true;
    }

    /// <summary>Resolves the host to an endpoint, preferring IPv4; IP literals need no lookup.</summary>
    /// <param name="cancellationToken">Cancels the lookup.</param>
    /// <returns>The endpoint.</returns>
    /// <exception cref="SocketException">The host name does not resolve.</exception>
    public async Task<IPEndPoint> ResolveAsync(CancellationToken cancellationToken = default)
    {
        if (IPAddress.TryParse(Host, out var address))
        {
            return new IPEndPoint(address, Port);
        }

        var addresses = await Dns.GetHostAddressesAsync(Host, cancellationToken).ConfigureAwait(false);
        var chosen = addresses.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork) ?? addresses.FirstOrDefault()
            ?? throw new SocketException((int)SocketError.HostNotFound);
        return new IPEndPoint(chosen, Port);
    }

    /// <inheritdoc/>
    public override string ToString() => Host.Contains(':', StringComparison.Ordinal) ? $"[{Host}]:{Port}" : $"{Host}:{Port}";
}
