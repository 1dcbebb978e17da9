namespace Overlay.Node.Cli;

/// <summary>A failure of a CLI command: the one line printed as <c>error: &lt;message&gt;</c>, the process exit code, and the <c>--json</c> code.</summary>
internal sealed class CliException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="exitCode">One of <see cref="ExitCodes"/>.</param>
    /// <param name="message">One line for the user.</param>
    /// <param name="innerException">The cause, if any.</param>
    /// <param name="code">The <c>--json</c> code (the API's code for an API error); null for <see cref="CliError.CodeOf"/> of <paramref name="exitCode"/>.</param>
    public CliException(int exitCode, string message, Exception? innerException = null, string? code = null)
        : base(message, innerException)
    {
        ExitCode = exitCode;
        Code = code ?? CliError.CodeOf(exitCode);
    }

    /// <summary>Gets the <c>--json</c> error code, e.g. <c>no_providers</c> or <c>unreachable</c>.</summary>
    public string Code { get; }

    /// <summary>Gets the process exit code (<see cref="ExitCodes"/>).</summary>
    public int ExitCode { get; }
}
