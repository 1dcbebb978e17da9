namespace Overlay.Node.Cli;

/// <summary>A failure of a CLI command: the one line printed as <c>error: &lt;message&gt;</c> and the process exit code.</summary>
internal sealed class CliException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="exitCode">One of <see cref="ExitCodes"/>.</param>
    /// <param name="message">One line for the user.</param>
    /// <param name="innerException">The cause, if any.</param>
    public CliException(int exitCode, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        ExitCode = exitCode;
    }

    /// <summary>Gets the process exit code (<see cref="ExitCodes"/>).</summary>
    public int ExitCode { get; }
}
