using System.Globalization;

namespace Overlay.Node.Daemon;

/// <summary>
/// The <c>lock</c> file in the data directory, held open with an exclusive lock for the daemon's life so that a second
/// daemon on the same directory (same identity, same store, same <c>api</c> file) stops at start with a clear error.
/// On Linux .NET takes an advisory <c>flock(LOCK_EX)</c> for <see cref="FileShare.None"/>; the kernel releases it when
/// the process ends, even by kill -9, so a crash never leaves a stale lock. The file holds the owner's process ID (for
/// people; .NET cannot read a file another process holds this way). Dispose releases it (the file stays: removing it
/// would race with a daemon taking it).
/// </summary>
internal sealed class DataDirectoryLock : IDisposable
{
    /// <summary>The file name in the data directory.</summary>
    public const string FileName = "lock";

    private readonly FileStream _file;

    private DataDirectoryLock(FileStream file)
    {
        _file = file;
    }

    /// <summary>Takes the lock of <paramref name="dataDirectory"/>.</summary>
    /// <param name="dataDirectory">The absolute data directory; it must exist.</param>
    /// <returns>The held lock.</returns>
    /// <exception cref="DataDirectoryInUseException">Another process holds it; the message names the directory and, when known, the other daemon's API URL.</exception>
    /// <exception cref="IOException">The file cannot be created.</exception>
    /// <exception cref="UnauthorizedAccessException">The directory is not writable.</exception>
    public static DataDirectoryLock Acquire(string dataDirectory)
    {
        var path = Path.Combine(dataDirectory, FileName);
        FileStream file;
        try
        {
            file = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException ex) when (File.Exists(path))
        {
            throw new DataDirectoryInUseException(dataDirectory, ApiFile.TryRead(ApiFile.PathIn(dataDirectory)), ex);
        }

        try
        {
            var pid = System.Text.Encoding.ASCII.GetBytes(Environment.ProcessId.ToString(CultureInfo.InvariantCulture) + "\n");
            file.SetLength(0);
            file.Write(pid);
            file.Flush(flushToDisk: true);
        }
        catch
        {
            file.Dispose();
            throw;
        }

        return new DataDirectoryLock(file);
    }

    /// <inheritdoc/>
    public void Dispose() => _file.Dispose();
}
