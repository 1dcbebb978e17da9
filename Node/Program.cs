using Overlay.Node.Cli;

namespace Overlay.Node;

/// <summary>Entry point of the <c>overlay</c> executable: the daemon (<c>overlay node run</c>) and the CLI.</summary>
internal static class Program
{
    /// <summary>Runs the command line.</summary>
    /// <param name="args">The arguments.</param>
    /// <returns>The exit code (<see cref="ExitCodes"/>).</returns>
    public static Task<int> Main(string[] args) => CliApp.RunAsync(args);
}
