using Microsoft.Extensions.Logging;

namespace Overlay.Node.Daemon;

/// <summary>
/// The <c>api</c> file in the data directory: one line, the URL of the running daemon's API (e.g.
/// <c>http://127.0.0.1:5001</c>). Written once the API listens, removed on shutdown; the CLI reads it to find the
/// daemon, which matters when the API port is 0 (any free port). Thread-safe (stateless).
/// </summary>
internal static class ApiFile
{
    /// <summary>The file name in the data directory.</summary>
    public const string FileName = "api";

    /// <summary>Returns the path of the file in <paramref name="dataDirectory"/>.</summary>
    /// <param name="dataDirectory">The absolute data directory.</param>
    /// <returns>The path.</returns>
    public static string PathIn(string dataDirectory) => Path.Combine(dataDirectory, FileName);

    /// <summary>Writes <paramref name="url"/> to the file atomically (temporary file, then rename), so a reader never sees half a URL.</summary>
    /// <param name="path">The file's path.</param>
    /// <param name="url">The API URL.</param>
    /// <param name="logger">Receives a failure; the daemon runs on without the file.</param>
    /// <returns>Whether the file was written.</returns>
    public static bool Write(string path, string url, ILogger logger)
    {
        var temporary = $"{path}.{Environment.ProcessId}.tmp";
        try
        {
            File.WriteAllText(temporary, url + "\n");
            File.Move(temporary, path, overwrite: true);
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            NodeLog.ApiFileFailed(logger, path, ex.Message);
            TryDelete(temporary);
            return false;
        }
    }

    /// <summary>Removes the file if it still names <paramref name="url"/> (another daemon may have replaced it since).</summary>
    /// <param name="path">The file's path.</param>
    /// <param name="url">The URL this daemon wrote.</param>
    /// <param name="logger">Receives a failure.</param>
    public static void Remove(string path, string url, ILogger logger)
    {
        try
        {
            if (File.Exists(path) && string.Equals(File.ReadAllText(path).Trim(), url, StringComparison.Ordinal))
            {
                File.Delete(path);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            NodeLog.ApiFileFailed(logger, path, ex.Message);
        }
    }

    /// <summary>Reads the URL from the file.</summary>
    /// <param name="path">The file's path.</param>
    /// <returns>The trimmed first line, or null when the file is missing, empty or unreadable.</returns>
    public static string? TryRead(string path)
    {
        try
        {
            if (!File.Exists(path))
            {
                return null;
            }

            var line = File.ReadLines(path).FirstOrDefault()?.Trim();
            return string.IsNullOrEmpty(line) ? null : line;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Best effort: a stray temporary file is harmless and named after our process.
        }
    }
}
