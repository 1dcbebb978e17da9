using System.Text.Json;
using Overlay.Node.Api;

namespace Overlay.Node.Cli;

/// <summary>
/// One user-facing CLI failure: the line printed after <c>error: </c>, the process exit code, and a code for
/// <c>--json</c> (the API's own code when the error came from the API, else usage, bad_request, not_found,
/// unreachable, refused, io, failure or internal).
/// </summary>
/// <param name="Message">One line for the user; no .NET type names or stack traces.</param>
/// <param name="ExitCode">One of <see cref="ExitCodes"/>.</param>
/// <param name="Code">The JSON code.</param>
internal sealed record CliError(string Message, int ExitCode, string Code)
{
    /// <summary>JSON options of the error line: the API's, with quotes and non-ASCII left readable (it is for people and jq, not HTML).</summary>
    private static readonly JsonSerializerOptions LineOptions = new(ApiErrorHandler.JsonOptions) { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Returns the default JSON code of an exit code: usage, not_found, unreachable, refused or failure.</summary>
    /// <param name="exitCode">One of <see cref="ExitCodes"/>.</param>
    /// <returns>The code.</returns>
    public static string CodeOf(int exitCode) => exitCode switch
    {
        ExitCodes.Usage => "usage",
        ExitCodes.NotFound => "not_found",
        ExitCodes.DaemonUnreachable => "unreachable",
        ExitCodes.Refused => "refused",
        _ => "failure",
    };

    /// <summary>
    /// Writes the error: with <paramref name="json"/>, one JSON object <c>{"error": "...", "code": "..."}</c> on one
    /// line to <paramref name="stdout"/> (so <c>overlay --json ... | jq</c> sees it) and nothing on stderr; else
    /// <c>error: MESSAGE</c> on one line to <paramref name="stderr"/>.
    /// </summary>
    /// <param name="json">Whether <c>--json</c> was given.</param>
    /// <param name="stdout">Standard output.</param>
    /// <param name="stderr">Standard error.</param>
    /// <returns>A task that completes when the line is written.</returns>
    public async Task WriteAsync(bool json, TextWriter stdout, TextWriter stderr)
    {
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);
        var line = Message.ReplaceLineEndings(" ").Trim();
        if (json)
        {
            await stdout.WriteLineAsync(JsonSerializer.Serialize(new ErrorResponse(line, Code), LineOptions)).ConfigureAwait(false);
            await stdout.FlushAsync().ConfigureAwait(false);
        }
        else
        {
            await stderr.WriteLineAsync($"error: {line}").ConfigureAwait(false);
        }
    }
}
