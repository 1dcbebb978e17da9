using Google.Protobuf;
using Overlay.Transport.Wire;

namespace Overlay.Transport.Sessions.Noise;

/// <summary>
/// A Noise XX handshake (<see cref="XXHandshakeState"/>) that proves node identities: each side's payload
/// (<c>HandshakePayload</c>, Transport/Wire/handshake.proto) carries its Ed25519 identity key and a signature over
/// <see cref="SignaturePrefix"/> || its 32-byte Noise static key, sent encrypted in message 2 (responder) and message 3
/// (initiator). A side accepts the peer only when the signature verifies with that identity key over the static key
/// the handshake itself authenticated; the peer's node ID is then SHA-256 of its identity key. A man in the middle who
/// substitutes his own static key cannot produce the signature; a node claiming another's ID has no key to sign with.
/// An initiator that dials a node ID fails with <see cref="HandshakeFailure.UnexpectedPeer"/> if another one answers.
/// Messages: 1 = 32 bytes; 2 = 96 + payload (about 110) bytes; 3 = 64 + payload bytes. Not thread-safe.
/// </summary>
internal sealed class SecureHandshake : IDisposable
{
    /// <summary>The signed context: ASCII <c>overlay-noise-static-key:</c> (24 bytes), as libp2p signs
    /// <c>noise-libp2p-static-key:</c>.</summary>
    public static ReadOnlySpan<byte> SignaturePrefix => "overlay-noise-static-key:"u8;

    /// <summary>The prologue both sides mix in: ASCII <c>overlay-session/1</c>.</summary>
    public static ReadOnlySpan<byte> Prologue => "overlay-session/1"u8;

    /// <summary>The one stream multiplexer spoken today.</summary>
    public const string Muxer = "overlay-streams/1";

    /// <summary>Largest payload read, bytes: 512 (a version-1 payload is about 110).</summary>
    public const int MaxPayloadBytes = 512;

    private const int MaxMuxers = 8;
    private const int MaxMuxerBytes = 32;

    private readonly XXHandshakeState _state;
    private readonly SessionCredentials _credentials;
    private readonly bool _ownsCredentials;
    private readonly NodeId? _expected;
    private HandshakeFailure _failure;

    /// <summary>Starts a handshake with the node's long-lived session credentials.</summary>
    /// <param name="credentials">The static key and signed payload; not owned.</param>
    /// <param name="initiator">True for the dialling side.</param>
    /// <param name="expectedPeer">The node ID the initiator dialled; null when dialling an address only (responders pass null).</param>
    public SecureHandshake(SessionCredentials credentials, bool initiator, NodeId? expectedPeer = null)
        : this(credentials, ownsCredentials: false, initiator, expectedPeer)
    {
    }

    /// <summary>Starts a handshake with credentials made for it alone (a fresh static key, one signature).</summary>
    /// <param name="identity">This node's identity.</param>
    /// <param name="initiator">True for the dialling side.</param>
    /// <param name="expectedPeer">The node ID the initiator dialled, or null.</param>
    public SecureHandshake(NodeIdentity identity, bool initiator, NodeId? expectedPeer = null)
        : this(new SessionCredentials(identity), ownsCredentials: true, initiator, expectedPeer)
    {
    }

    private SecureHandshake(SessionCredentials credentials, bool ownsCredentials, bool initiator, NodeId? expectedPeer)
    {
        ArgumentNullException.ThrowIfNull(credentials);
        _credentials = credentials;
        _ownsCredentials = ownsCredentials;
        _state = new XXHandshakeState(initiator, Prologue, credentials.StaticKey);
        _expected = expectedPeer;
    }

    /// <summary>Gets whether this side dialled.</summary>
    public bool IsInitiator => _state.IsInitiator;

    /// <summary>Gets whether the handshake completed and the peer is proven.</summary>
    public bool IsComplete => _state.IsComplete && RemoteId is not null && _failure == HandshakeFailure.None;

    /// <summary>Gets why the handshake failed, or <see cref="HandshakeFailure.None"/>.</summary>
    public HandshakeFailure Failure => _failure;

    /// <summary>Gets whether it is this side's turn to write a message.</summary>
    public bool IsMyTurnToWrite => _failure == HandshakeFailure.None && _state.IsMyTurnToWrite;

    /// <summary>Gets the proven node ID of the peer, once its payload has been read and checked.</summary>
    public NodeId? RemoteId { get; private set; }

    /// <summary>Gets the 32-byte ephemeral key this side sent in its first message.</summary>
    public ReadOnlySpan<byte> LocalEphemeralKey => _state.LocalEphemeralKey;

    /// <summary>Gets the handshake hash (32 bytes), for channel binding once complete.</summary>
    public ReadOnlySpan<byte> HandshakeHash => _state.HandshakeHash;

    /// <summary>Gets the largest message this side writes, bytes.</summary>
    public int MaxMessageBytes => XXHandshakeState.Message2Overhead + _credentials.Payload.Length;

    /// <summary>Writes this side's next message: 1 (empty payload), 2 or 3 (the identity payload).</summary>
    /// <param name="destination">At least <see cref="MaxMessageBytes"/> bytes.</param>
    /// <returns>Bytes written.</returns>
    /// <exception cref="InvalidOperationException">It is not this side's turn, or the handshake failed.</exception>
    public int WriteMessage(Span<byte> destination)
    {
        if (_failure != HandshakeFailure.None)
        {
            throw new InvalidOperationException($"the handshake failed: {_failure}");
        }

        return _state.WriteMessage(_state.MessageIndex == 0 ? default : _credentials.Payload, destination);
    }

    /// <summary>Reads the peer's next message and, in messages 2 and 3, checks its identity proof. Never throws on
    /// untrusted bytes.</summary>
    /// <param name="message">The received message.</param>
    /// <returns><see cref="HandshakeFailure.None"/>, or why the handshake failed (it is then of no further use).</returns>
    public HandshakeFailure ReadMessage(ReadOnlySpan<byte> message)
    {
        if (_failure != HandshakeFailure.None)
        {
            return _failure;
        }

        var index = _state.MessageIndex;
        Span<byte> payload = stackalloc byte[MaxPayloadBytes];
        if (message.Length > XXHandshakeState.Message2Overhead + MaxPayloadBytes || _state.IsMyTurnToWrite || _state.IsComplete)
        {
            return _failure = HandshakeFailure.Malformed;
        }

        if (!_state.TryReadMessage(message, payload, out var length))
        {
            var overhead = index switch { 0 => XXHandshakeState.Message1Overhead, 1 => XXHandshakeState.Message2Overhead, _ => XXHandshakeState.Message3Overhead };
            return _failure = message.Length < overhead ? HandshakeFailure.Malformed : HandshakeFailure.Decryption;
        }

        return _failure = index == 0
            ? (length == 0 ? HandshakeFailure.None : HandshakeFailure.BadPayload)
            : CheckPayload(payload[..length]);
    }

    /// <summary>Derives the transport ciphers, oriented for this side.</summary>
    /// <returns>Send and receive ciphers; the caller owns both.</returns>
    /// <exception cref="InvalidOperationException">The handshake is not complete.</exception>
    public (CipherState Send, CipherState Receive) Split() =>
        IsComplete ? _state.Split() : throw new InvalidOperationException("the handshake is not complete");

    /// <summary>Erases the ephemeral key (and the credentials when this handshake made them).</summary>
    public void Dispose()
    {
        _state.Dispose();
        if (_ownsCredentials)
        {
            _credentials.Dispose();
        }
    }

    private HandshakeFailure CheckPayload(ReadOnlySpan<byte> bytes)
    {
        HandshakePayload payload;
        try
        {
            payload = HandshakePayload.Parser.ParseFrom(bytes);
        }
        catch (InvalidProtocolBufferException)
        {
            return HandshakeFailure.BadPayload;
        }

        if (payload.Version != 1 || payload.IdentityKey.Length != NodeIdentity.PublicKeyLength || payload.IdentitySig.Length != NodeIdentity.SignatureLength
            || payload.Muxers.Count > MaxMuxers || payload.Muxers.Any(m => m.Length > MaxMuxerBytes))
        {
            return HandshakeFailure.BadPayload;
        }

        var signed = new byte[SignaturePrefix.Length + XXHandshakeState.DhLength];
        SignaturePrefix.CopyTo(signed);
        _state.RemoteStaticKey.CopyTo(signed.AsSpan(SignaturePrefix.Length));
        if (!NodeIdentity.Verify(payload.IdentityKey.Span, signed, payload.IdentitySig.Span))
        {
            return HandshakeFailure.BadSignature;
        }

        var id = NodeId.HashOf(payload.IdentityKey.Span);
        if (_expected is { } expected && expected != id)
        {
            return HandshakeFailure.UnexpectedPeer;
        }

        RemoteId = id;
        return HandshakeFailure.None;
    }
}
