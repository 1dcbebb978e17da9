using Google.Protobuf;
using Overlay.Transport.Wire;

namespace Overlay.Transport.Sessions.Noise;

/// <summary>
/// A Noise XX handshake (<see cref="XXHandshakeState"/>) that negotiates its cipher suite and proves node identities.
/// Messages as this class writes and reads them:
/// <list type="number">
/// <item>initiator: offered suites (1 byte, <see cref="SessionCipherSuites"/>) || ephemeral key (32 bytes): 33 bytes.</item>
/// <item>responder: chosen suite (1 byte) || Noise XX message 2 with the identity payload: 1 + 96 + payload (about 110).</item>
/// <item>initiator: Noise XX message 3 with the identity payload: 64 + payload bytes.</item>
/// </list>
/// The responder chooses by <see cref="CipherSuiteNegotiation.Choose"/> and refuses
/// (<see cref="HandshakeFailure.UnsupportedSuite"/>) an offer it shares nothing with; offer and choice are in the
/// prologue (<see cref="CipherSuiteNegotiation.Prologue"/>) and the choice names the protocol, so a changed byte fails
/// message 2. Each side's payload (<c>HandshakePayload</c>, Transport/Wire/handshake.proto) carries its Ed25519
/// identity key and a signature over <see cref="SignaturePrefix"/> || its 32-byte Noise static key. A side accepts the
/// peer only when the signature verifies with that identity key over the static key the handshake itself
/// authenticated; the peer's node ID is then SHA-256 of its identity key. A man in the middle who substitutes his own
/// static key cannot produce the signature; a node claiming another's ID has no key to sign with. An initiator that
/// dials a node ID fails with <see cref="HandshakeFailure.UnexpectedPeer"/> if another one answers. Not thread-safe.
/// </summary>
internal sealed class SecureHandshake : IDisposable
{
    /// <summary>The signed context: ASCII <c>overlay-noise-static-key:</c> (24 bytes), as libp2p signs
    /// <c>noise-libp2p-static-key:</c>.</summary>
    public static ReadOnlySpan<byte> SignaturePrefix => "overlay-noise-static-key:"u8;

    /// <summary>The one stream multiplexer spoken today.</summary>
    public const string Muxer = "overlay-streams/1";

    /// <summary>Largest payload read, bytes: 512 (a version-1 payload is about 110).</summary>
    public const int MaxPayloadBytes = 512;

    /// <summary>Length of message 1, bytes: the offer byte and the 32-byte ephemeral key = 33.</summary>
    public const int Message1Bytes = 1 + XXHandshakeState.DhLength;

    private const int MaxMuxers = 8;
    private const int MaxMuxerBytes = 32;

    private readonly SessionCredentials _credentials;
    private readonly bool _ownsCredentials;
    private readonly SessionCipherSuites _suites;
    private readonly NodeId? _expected;
    private XXHandshakeState? _state;
    private X25519KeyPair? _ephemeral;
    private SessionCipherSuites _offer;
    private SessionCipherSuites _chosen;
    private int _message;
    private HandshakeFailure _failure;

    /// <summary>Starts a handshake with the node's long-lived session credentials.</summary>
    /// <param name="credentials">The static key and signed payload; not owned.</param>
    /// <param name="initiator">True for the dialling side.</param>
    /// <param name="expectedPeer">The node ID the initiator dialled; null when dialling an address only (responders pass null).</param>
    /// <param name="suites">The suites this side offers (initiator) or accepts (responder); null =
    /// <see cref="CipherSuiteNegotiation.LocalDefault"/>.</param>
    /// <exception cref="ArgumentException"><paramref name="suites"/> is empty, reserved, or AESGCM without AES instructions.</exception>
    public SecureHandshake(SessionCredentials credentials, bool initiator, NodeId? expectedPeer = null, SessionCipherSuites? suites = null)
        : this(credentials, ownsCredentials: false, initiator, expectedPeer, suites)
    {
    }

    /// <summary>Starts a handshake with credentials made for it alone (a fresh static key, one signature).</summary>
    /// <param name="identity">This node's identity.</param>
    /// <param name="initiator">True for the dialling side.</param>
    /// <param name="expectedPeer">The node ID the initiator dialled, or null.</param>
    /// <param name="suites">The suites offered or accepted; null = <see cref="CipherSuiteNegotiation.LocalDefault"/>.</param>
    /// <exception cref="ArgumentException"><paramref name="suites"/> is empty, reserved, or AESGCM without AES instructions.</exception>
    public SecureHandshake(NodeIdentity identity, bool initiator, NodeId? expectedPeer = null, SessionCipherSuites? suites = null)
        : this(new SessionCredentials(identity), ownsCredentials: true, initiator, expectedPeer, suites)
    {
    }

    private SecureHandshake(SessionCredentials credentials, bool ownsCredentials, bool initiator, NodeId? expectedPeer, SessionCipherSuites? suites)
    {
        ArgumentNullException.ThrowIfNull(credentials);
        _suites = suites ?? CipherSuiteNegotiation.LocalDefault;
        CipherSuiteNegotiation.Validate(_suites, nameof(suites));
        _credentials = credentials;
        _ownsCredentials = ownsCredentials;
        IsInitiator = initiator;
        _expected = expectedPeer;
        if (initiator)
        {
            // Message 1 is the clear ephemeral key, sent before the responder's choice fixes the protocol name.
            _offer = _suites;
            _ephemeral = X25519KeyPair.Generate();
        }
    }

    /// <summary>Gets whether this side dialled.</summary>
    public bool IsInitiator { get; }

    /// <summary>Gets the negotiated suite once the responder has read message 1 or the initiator message 2; else
    /// <see cref="SessionCipherSuites.None"/>.</summary>
    public SessionCipherSuites Suite => _chosen;

    /// <summary>Gets whether the handshake completed and the peer is proven.</summary>
    public bool IsComplete => _state is { IsComplete: true } && RemoteId is not null && _failure == HandshakeFailure.None;

    /// <summary>Gets why the handshake failed, or <see cref="HandshakeFailure.None"/>.</summary>
    public HandshakeFailure Failure => _failure;

    /// <summary>Gets whether it is this side's turn to write a message.</summary>
    public bool IsMyTurnToWrite => _failure == HandshakeFailure.None && _message < 3 && (_message % 2 == 0) == IsInitiator;

    /// <summary>Gets the proven node ID of the peer, once its payload has been read and checked.</summary>
    public NodeId? RemoteId { get; private set; }

    /// <summary>Gets the handshake hash (32 bytes), for channel binding once complete; empty before message 2.</summary>
    public ReadOnlySpan<byte> HandshakeHash => _state is null ? default : _state.HandshakeHash;

    /// <summary>Gets the largest message this side writes, bytes: 1 + 96 + the payload.</summary>
    public int MaxMessageBytes => 1 + XXHandshakeState.Message2Overhead + _credentials.Payload.Length;

    /// <summary>Writes this side's next message: 1 (the offer and the ephemeral key), 2 or 3 (with the identity payload).</summary>
    /// <param name="destination">At least <see cref="MaxMessageBytes"/> bytes.</param>
    /// <returns>Bytes written.</returns>
    /// <exception cref="InvalidOperationException">It is not this side's turn, or the handshake failed.</exception>
    public int WriteMessage(Span<byte> destination)
    {
        if (!IsMyTurnToWrite)
        {
            throw new InvalidOperationException(_failure != HandshakeFailure.None ? $"the handshake failed: {_failure}" : $"not this side's turn to write message {_message + 1}");
        }

        int written;
        switch (_message)
        {
            case 0:
                destination[0] = (byte)_offer;
                _ephemeral!.PublicKey.CopyTo(destination[1..]);
                written = Message1Bytes;
                break;
            case 1:
                destination[0] = (byte)_chosen;
                written = 1 + _state!.WriteMessage(_credentials.Payload, destination[1..]);
                break;
            default:
                written = _state!.WriteMessage(_credentials.Payload, destination);
                break;
        }

        _message++;
        return written;
    }

    /// <summary>Reads the peer's next message: in message 1 the offer, in message 2 the choice, in messages 2 and 3 the
    /// identity proof. Never throws on untrusted bytes.</summary>
    /// <param name="message">The received message.</param>
    /// <returns><see cref="HandshakeFailure.None"/>, or why the handshake failed (it is then of no further use).</returns>
    public HandshakeFailure ReadMessage(ReadOnlySpan<byte> message)
    {
        if (_failure != HandshakeFailure.None)
        {
            return _failure;
        }

        var index = _message;
        var overhead = index switch { 0 => Message1Bytes, 1 => 1 + XXHandshakeState.Message2Overhead, _ => XXHandshakeState.Message3Overhead };
        if (IsMyTurnToWrite || index >= 3 || message.Length < overhead || message.Length > overhead + MaxPayloadBytes)
        {
            return _failure = HandshakeFailure.Malformed;
        }

        if (index == 0 && message.Length != Message1Bytes)
        {
            return _failure = HandshakeFailure.BadPayload;
        }

        if (index < 2 && StartState(message[0]) is var refused and not HandshakeFailure.None)
        {
            return _failure = refused;
        }

        Span<byte> payload = stackalloc byte[MaxPayloadBytes];
        if (!_state!.TryReadMessage(index < 2 ? message[1..] : message, payload, out var length))
        {
            return _failure = HandshakeFailure.Decryption;
        }

        _message++;
        return _failure = index == 0 ? HandshakeFailure.None : CheckPayload(payload[..length]);
    }
    /// <summary>Derives the transport ciphers, oriented for this side.</summary>
    /// <returns>Send and receive ciphers; the caller owns both.</returns>
    /// <exception cref="InvalidOperationException">The handshake is not complete.</exception>
    public (CipherState Send, CipherState Receive) Split() =>
        IsComplete ? _state!.Split() : throw new InvalidOperationException("the handshake is not complete");

    /// <summary>Erases the ephemeral key (and the credentials when this handshake made them).</summary>
    public void Dispose()
    {
        _state?.Dispose();
        _ephemeral?.Dispose();
        if (_ownsCredentials)
        {
            _credentials.Dispose();
        }
    }

    /// <summary>Fixes the suite from message 1's offer (responder) or message 2's choice (initiator) and starts the
    /// Noise state with it; the initiator replays its message 1 into the new state, which gives the same 32 bytes.</summary>
    private HandshakeFailure StartState(byte suiteByte)
    {
        var suite = (SessionCipherSuites)suiteByte;
        if (IsInitiator)
        {
            // The choice must be exactly one suite of those offered.
            if (suite == SessionCipherSuites.None || CipherSuiteNegotiation.Choose(suite, _offer) != suite)
            {
                return HandshakeFailure.UnsupportedSuite;
            }

            _chosen = suite;
            _state = new XXHandshakeState(suite, initiator: true, CipherSuiteNegotiation.Prologue(_offer, suite), _credentials.StaticKey, _ephemeral);
            _ephemeral = null;
            Span<byte> replay = stackalloc byte[XXHandshakeState.Message1Overhead];
            _state.WriteMessage(default, replay);
            return HandshakeFailure.None;
        }

        _offer = suite;
        _chosen = CipherSuiteNegotiation.Choose(suite, _suites);
        if (_chosen == SessionCipherSuites.None)
        {
            return HandshakeFailure.UnsupportedSuite;
        }

        _state = new XXHandshakeState(_chosen, initiator: false, CipherSuiteNegotiation.Prologue(_offer, _chosen), _credentials.StaticKey);
        return HandshakeFailure.None;
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
        _state!.RemoteStaticKey.CopyTo(signed.AsSpan(SignaturePrefix.Length));
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
