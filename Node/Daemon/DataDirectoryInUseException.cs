namespace Overlay.Node.Daemon;

/// <summary>Another process (a running daemon) holds the data directory's <see cref="DataDirectoryLock"/>.</summary>
internal sealed class DataDirectoryInUseException : IOException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="dataDirectory">The directory.</param>
    /// <param name="ownerApi">The other daemon's API URL from the <c>api</c> file, if it has written one.</param>
    /// <param name="innerException">The failed open.</param>
    public DataDirectoryInUseException(string dataDirectory, string? ownerApi, Exception innerException)
        : base($"data directory {dataDirectory} is in use by another overlay daemon{(ownerApi is null ? string.Empty : $" (api {ownerApi})")}; stop it, or give this one its own --data-dir", innerException)
    {
    }
}
