using Spectre.Console;

namespace Overlay.Node.Cli;

/// <summary>
/// What one CLI command needs from its environment: the output mode, the consoles, and the daemon's API. Progress UI
/// is drawn on stderr, and only when it is a terminal and <c>--json</c> is off; results go to stdout.
/// </summary>
internal sealed class CliContext
{
    private readonly Func<ApiTarget> _resolveApi;

    /// <summary>Creates a context.</summary>
    /// <param name="json">Whether <c>--json</c> was given.</param>
    /// <param name="resolveApi">Finds the API base URI and token when a command first needs them (see <see cref="ApiLocator"/>).</param>
    /// <param name="stdout">Where results go.</param>
    /// <param name="stderr">Where errors go.</param>
    /// <param name="stdoutIsTerminal">Whether stdout is a terminal.</param>
    /// <param name="stderrIsTerminal">Whether stderr is a terminal.</param>
    public CliContext(bool json, Func<ApiTarget> resolveApi, TextWriter stdout, TextWriter stderr, bool stdoutIsTerminal, bool stderrIsTerminal)
    {
        Json = json;
        _resolveApi = resolveApi;
        StdOut = stdout;
        StdErr = stderr;
        StdoutIsTerminal = stdoutIsTerminal;
        StderrIsTerminal = stderrIsTerminal;
        Out = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(stdout),
            Ansi = stdoutIsTerminal ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = stdoutIsTerminal ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = stdoutIsTerminal ? InteractionSupport.Detect : InteractionSupport.No,
        });
        Progress = !json && stderrIsTerminal
            ? AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(stderr) })
            : null;
    }

    /// <summary>Gets whether output is the API's JSON instead of tables.</summary>
    public bool Json { get; }

    /// <summary>Gets the console that renders human output (tables) on stdout.</summary>
    public IAnsiConsole Out { get; }

    /// <summary>Gets the console for progress bars and spinners on stderr, or null when progress must not be drawn.</summary>
    public IAnsiConsole? Progress { get; }

    /// <summary>Gets stdout.</summary>
    public TextWriter StdOut { get; }

    /// <summary>Gets stderr.</summary>
    public TextWriter StdErr { get; }

    /// <summary>Gets whether stdout is a terminal.</summary>
    public bool StdoutIsTerminal { get; }

    /// <summary>Gets whether stderr is a terminal.</summary>
    public bool StderrIsTerminal { get; }

    /// <summary>Creates a client for the daemon's API, resolving its address and reading its token now.</summary>
    /// <returns>A client that sends the token on every request; the caller disposes it.</returns>
    /// <exception cref="CliException">Exit code 2: the API address is invalid.</exception>
    /// <exception cref="Configuration.ConfigException">The configuration file is malformed.</exception>
    public ApiClient CreateClient()
    {
        var target = _resolveApi();
        return new ApiClient(target.BaseUri, token: target.Token, tokenPath: target.TokenPath);
    }
}
