using System.Security.Cryptography;
using Microsoft.Extensions.Logging;

namespace Overlay.Node.Daemon;

/// <summary>
/// The <c>api.token</c> file in the data directory: the per-daemon secret every API request must carry
/// (<c>Authorization: Bearer &lt;token&gt;</c>). A new token is made at each start from 32 bytes of
/// <see cref="RandomNumberGenerator"/>, written as 64 lowercase hexadecimal characters and a newline, mode 0600 from
/// the moment the file exists, and removed on shutdown if it still holds our token. Only the user who runs the daemon
/// (and root) can read it, so only their processes can call the API; a web page cannot read files. Jupyter's server
/// token and Docker's socket permissions are the models. Thread-safe (stateless).
/// </summary>
internal static class ApiToken
{
    /// <summary>The file name in the data directory.</summary>
    public const string FileName = "api.token";

    /// <summary>Random bytes per token: 32 (256 bits, beyond any guessing through the API).</summary>
    public const int TokenBytes = 32;

    /// <summary>Mode of the file: read and write for its owner only (0600).</summary>
    public const UnixFileMode FileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>Returns the path of the file in <paramref name="dataDirectory"/>.</summary>
    /// <param name="dataDirectory">The absolute data directory.</param>
    /// <returns>The path.</returns>
    public static string PathIn(string dataDirectory) => Path.Combine(dataDirectory, FileName);

    /// <summary>Makes a new token.</summary>
    /// <returns>64 lowercase hexadecimal characters (32 random bytes).</returns>
    public static string Create() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(TokenBytes));

    /// <summary>
    /// Writes <paramref name="token"/> atomically: a temporary file created with mode 0600 (never readable by others,
    /// not even empty), then renamed over any old token file, so a reader sees the old token or the new one, never half.
    /// </summary>
    /// <param name="path">The file's path.</param>
    /// <param name="token">The token.</param>
    /// <exception cref="IOException">The file cannot be written (the caller stops the daemon: without it no client can use the API).</exception>
    /// <exception cref="UnauthorizedAccessException">The data directory is not writable.</exception>
    public static void Write(string path, string token)
    {
        ArgumentException.ThrowIfNullOrEmpty(token);
        var temporary = $"{path}.{Environment.ProcessId}.tmp";
        var options = new FileStreamOptions { Mode = System.IO.FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = FileMode;
        }

        try
        {
            TryDelete(temporary);
            using (var stream = new FileStream(temporary, options))
            using (var writer = new StreamWriter(stream))
            {
                writer.Write(token + "\n");
            }

            File.Move(temporary, path, overwrite: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            TryDelete(temporary);
            throw;
        }
    }

    /// <summary>Removes the file if it still holds <paramref name="token"/> (a later daemon on the same data directory may have replaced it).</summary>
    /// <param name="path">The file's path.</param>
    /// <param name="token">The token this daemon wrote.</param>
    /// <param name="logger">Receives a failure.</param>
    public static void Remove(string path, string token, ILogger logger)
    {
        try
        {
            if (TryRead(path) is { } current && Matches(current, token))
            {
                File.Delete(path);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            NodeLog.ApiFileFailed(logger, path, ex.Message);
        }
    }

    /// <summary>Reads the token from the file (the same one-line format as the <c>api</c> file).</summary>
    /// <param name="path">The file's path.</param>
    /// <returns>The trimmed first line, or null when the file is missing, empty or unreadable.</returns>
    public static string? TryRead(string path) => ApiFile.TryRead(path);

    /// <summary>Compares a presented token with the expected one in constant time (no early exit on the first differing byte).</summary>
    /// <param name="presented">The token a request carried.</param>
    /// <param name="expected">The daemon's token.</param>
    /// <returns>Whether they are equal, ordinal.</returns>
    public static bool Matches(ReadOnlySpan<char> presented, ReadOnlySpan<char> expected) =>
        System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(
            System.Runtime.InteropServices.MemoryMarshal.AsBytes(presented),
            System.Runtime.InteropServices.MemoryMarshal.AsBytes(expected));

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Best effort: a stray temporary file is mode 0600 and named after our process.
        }
    }
}
