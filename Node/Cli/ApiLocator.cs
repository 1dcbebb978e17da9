using Overlay.Node.Configuration;
using Overlay.Node.Daemon;

namespace Overlay.Node.Cli;

/// <summary>
/// Finds the daemon's API for CLI commands: the <c>--api</c> flag; else the <c>api</c> file in the data directory
/// (written by a running daemon, so it is right even for port 0); else <c>Node:Api</c> from configuration (file,
/// then <c>OVERLAY__</c> environment). The token is always read from the data directory's <c>api.token</c>, also
/// when <c>--api</c> is given. The data directory is <c>--data-dir</c>, else <c>Node:DataDir</c>.
/// </summary>
internal static class ApiLocator
{
    /// <summary>Resolves the API base URI and reads the token.</summary>
    /// <param name="apiFlag">The <c>--api</c> flag, or null.</param>
    /// <param name="dataDirFlag">The <c>--data-dir</c> flag, or null.</param>
    /// <param name="configFlag">The <c>--config</c> flag, or null.</param>
    /// <param name="includeEnvironment">Whether <c>OVERLAY__</c> environment variables apply (tests turn it off).</param>
    /// <returns>The base URI (<c>http://host:port/</c>) and the token, if its file exists.</returns>
    /// <exception cref="CliException">Exit code 2: the flag or the configured value is not a valid API endpoint.</exception>
    /// <exception cref="ConfigException">The configuration file is missing (when explicit) or malformed.</exception>
    public static ApiTarget Resolve(string? apiFlag, string? dataDirFlag, string? configFlag, bool includeEnvironment = true)
    {
        // Without --data-dir the data directory comes from configuration, so --api alone still reads the file.
        var configPath = NodeConfigurationLoader.ResolveConfigPath(configFlag, dataDirFlag);
        var configuration = NodeConfigurationLoader.Build(configPath, new Dictionary<string, string?>(), mustExist: !string.IsNullOrWhiteSpace(configFlag), includeEnvironment);
        var dataDir = NodeConfigurationLoader.ExpandPath(!string.IsNullOrWhiteSpace(dataDirFlag) ? dataDirFlag : configuration["Node:DataDir"] ?? NodeOptions.DefaultDataDir);
        var tokenPath = ApiToken.PathIn(dataDir);
        var token = ApiToken.TryRead(tokenPath);
        if (!string.IsNullOrWhiteSpace(apiFlag))
        {
            return new ApiTarget(ToUri(apiFlag, "--api"), token, tokenPath);
        }

        var fromFile = ApiFile.TryRead(ApiFile.PathIn(dataDir));
        if (fromFile is not null && NodeOptions.TryParseApi(fromFile, out _, out _))
        {
            return new ApiTarget(ToUri(fromFile, "api file"), token, tokenPath);
        }

        return new ApiTarget(ToUri(configuration["Node:Api"] ?? NodeOptions.DefaultApi, "Node:Api"), token, tokenPath);
    }

    /// <summary>Turns <c>host:port</c> or <c>http://host:port</c> into a base URI.</summary>
    /// <param name="text">The endpoint text.</param>
    /// <param name="source">Where it came from, for the message.</param>
    /// <returns>The URI.</returns>
    /// <exception cref="CliException">Exit code 2: the text is not a valid endpoint, or its port is 0.</exception>
    public static Uri ToUri(string text, string source)
    {
        if (!NodeOptions.TryParseApi(text, out var endPoint, out var error))
        {
            throw new CliException(ExitCodes.Usage, $"{source} '{text}' {error}");
        }

        if (endPoint.Port == 0)
        {
            throw new CliException(ExitCodes.Usage, $"{source} '{text}' has port 0; give the port the daemon listens on (it is in the data directory's api file)");
        }

        return new Uri($"http://{endPoint}/");
    }
}
