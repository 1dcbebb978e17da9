namespace Overlay.Exchange.Internal;

/// <summary>A provider connection failed (refused, timed out, disconnected, protocol error); the provider is dropped.</summary>
internal sealed class ProviderFailureException : Exception
{
    public ProviderFailureException(string message)
        : base(message)
    {
    }

    public ProviderFailureException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
