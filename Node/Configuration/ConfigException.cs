namespace Overlay.Node.Configuration;

/// <summary>
/// Thrown when configuration cannot be loaded or is invalid; the message is one line naming the source (file,
/// environment variable or flag), the key and what is wrong. The CLI prints it and exits with code 2.
/// </summary>
internal sealed class ConfigException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">One line: source, key, problem.</param>
    public ConfigException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with its cause.</summary>
    /// <param name="message">One line: source, key, problem.</param>
    /// <param name="innerException">The cause.</param>
    public ConfigException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
