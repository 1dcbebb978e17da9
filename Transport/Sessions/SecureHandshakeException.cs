using Overlay.Transport.Sessions.Noise;

namespace Overlay.Transport.Sessions;

/// <summary>A secure handshake over a stream failed: the peer could not prove the node ID, a message was tampered
/// with or malformed, or the handshake timed out.</summary>
public sealed class SecureHandshakeException : IOException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="failure">Why.</param>
    /// <param name="detail">More words, or null.</param>
    public SecureHandshakeException(HandshakeFailure failure, string? detail = null)
        : base($"secure handshake failed: {Describe(failure)}{(detail is null ? string.Empty : $" ({detail})")}")
    {
        Failure = failure;
    }

    /// <summary>Gets why the handshake failed.</summary>
    public HandshakeFailure Failure { get; }

    private static string Describe(HandshakeFailure failure) => failure switch
    {
        HandshakeFailure.BadSignature => "the peer could not prove its node ID",
        HandshakeFailure.UnexpectedPeer => "the node that answered is not the one dialled",
        HandshakeFailure.Decryption => "a message did not authenticate",
        HandshakeFailure.BadPayload => "the peer's identity payload is malformed",
        HandshakeFailure.UnsupportedSuite => "no cipher suite in common",
        _ => "a malformed message",
    };
}
