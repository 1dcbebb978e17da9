namespace Overlay.Transport.Sessions.Noise;

/// <summary>Why a secure handshake failed; counted by the session layer, logged at Debug.</summary>
public enum HandshakeFailure
{
    /// <summary>No failure.</summary>
    None = 0,

    /// <summary>A message was too short or too long, or came out of turn.</summary>
    Malformed,

    /// <summary>A message did not authenticate (tampered, or keyed for another handshake).</summary>
    Decryption,

    /// <summary>The payload was not a version-1 handshake payload within its size bounds.</summary>
    BadPayload,

    /// <summary>The identity signature over the Noise static key did not verify (a key substituted in the middle).</summary>
    BadSignature,

    /// <summary>The peer proved a node ID other than the one this side dialled.</summary>
    UnexpectedPeer,

    /// <summary>No cipher suite in common: the responder shares none with the initiator's offer, or the responder chose
    /// one the initiator did not offer (see <see cref="Sessions.SessionCipherSuites"/>).</summary>
    UnsupportedSuite,
}
