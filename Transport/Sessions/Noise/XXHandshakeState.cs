namespace Overlay.Transport.Sessions.Noise;

/// <summary>
/// The Noise HandshakeState (Noise rev. 34 §5.3) for <c>Noise_XX_25519_ChaChaPoly_SHA256</c> and
/// <c>Noise_XX_25519_AESGCM_SHA256</c> (<see cref="ProtocolName"/>): pattern XX (§7.5: <c>-&gt; e</c>,
/// <c>&lt;- e, ee, s, es</c>, <c>-&gt; s, se</c>), X25519 (§12.1), ChaChaPoly (§12.3) or AESGCM (§12.4), SHA-256. The
/// initiator writes messages 1 and 3, the responder message 2. Sizes, with a payload of P bytes: message 1 is 32 + P
/// (the payload is not encrypted: no key yet), message 2 is 32 + 48 + P + 16, message 3 is 48 + P + 16. A failed read
/// (bad length, bad tag, a low-order key) leaves the state failed; untrusted bytes never throw. Not thread-safe.
/// </summary>
internal sealed class XXHandshakeState : IDisposable
{
    /// <summary>Length of an X25519 public key, bytes: 32 (DHLEN, §12.1).</summary>
    public const int DhLength = 32;

    /// <summary>Bytes message 1 adds to its payload: 32.</summary>
    public const int Message1Overhead = DhLength;

    /// <summary>Bytes message 2 adds to its payload: 32 + 48 + 16 = 96.</summary>
    public const int Message2Overhead = DhLength + DhLength + CipherState.TagLength + CipherState.TagLength;

    /// <summary>Bytes message 3 adds to its payload: 48 + 16 = 64.</summary>
    public const int Message3Overhead = DhLength + CipherState.TagLength + CipherState.TagLength;

    private readonly SymmetricState _symmetric;
    private readonly X25519KeyPair _static;
    private readonly X25519KeyPair _ephemeral;
    private readonly byte[] _remoteEphemeral = new byte[DhLength];
    private readonly byte[] _remoteStatic = new byte[DhLength];
    private bool _hasRemoteStatic;
    private int _message;
    private bool _failed;

    /// <summary>Starts a handshake (§5.3 Initialize with an empty pre-message pattern).</summary>
    /// <param name="suite">The cipher: ChaChaPoly or AesGcm.</param>
    /// <param name="initiator">True for the side that writes message 1.</param>
    /// <param name="prologue">Bytes both sides must agree on (mixed into h).</param>
    /// <param name="staticKey">This side's static key pair; not owned.</param>
    /// <param name="ephemeralKey">The ephemeral key pair when the caller made it already (an initiator that sent its key
    /// before the suite was known, or a test vector's); null = a fresh one. Owned either way.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="suite"/> is not exactly one known suite.</exception>
    public XXHandshakeState(SessionCipherSuites suite, bool initiator, ReadOnlySpan<byte> prologue, X25519KeyPair staticKey, X25519KeyPair? ephemeralKey = null)
    {
        ArgumentNullException.ThrowIfNull(staticKey);
        IsInitiator = initiator;
        _static = staticKey;
        _symmetric = new SymmetricState(suite);
        _ephemeral = ephemeralKey ?? X25519KeyPair.Generate();
        _symmetric.MixHash(prologue);
    }

    /// <summary>Gets the Noise protocol name, e.g. <c>Noise_XX_25519_AESGCM_SHA256</c>.</summary>
    public string ProtocolName => CipherSuiteNegotiation.ProtocolName(_symmetric.Suite);

    /// <summary>Gets whether this side wrote message 1.</summary>
    public bool IsInitiator { get; }

    /// <summary>Gets whether all three messages have been written or read successfully.</summary>
    public bool IsComplete => _message == 3 && !_failed;

    /// <summary>Gets the number of messages written or read so far: 0..3.</summary>
    public int MessageIndex => _message;

    /// <summary>Gets whether a read failed; the state is then of no further use.</summary>
    public bool HasFailed => _failed;

    /// <summary>Gets whether it is this side's turn to write (else to read).</summary>
    public bool IsMyTurnToWrite => !_failed && _message < 3 && (_message % 2 == 0) == IsInitiator;

    /// <summary>Gets the peer's 32-byte static public key once received (after message 2 for the initiator, message 3
    /// for the responder); empty before.</summary>
    public ReadOnlySpan<byte> RemoteStaticKey => _hasRemoteStatic ? _remoteStatic : default;

    /// <summary>Gets the handshake hash h (32 bytes); final once <see cref="IsComplete"/>.</summary>
    public ReadOnlySpan<byte> HandshakeHash => _symmetric.HandshakeHash;

    /// <summary>Writes this side's next message (§5.3 WriteMessage).</summary>
    /// <param name="payload">The payload (encrypted in messages 2 and 3).</param>
    /// <param name="destination">Room for the payload plus the message's overhead.</param>
    /// <returns>Bytes written.</returns>
    /// <exception cref="InvalidOperationException">It is not this side's turn, or the handshake failed or is complete.</exception>
    public int WriteMessage(ReadOnlySpan<byte> payload, Span<byte> destination)
    {
        if (!IsMyTurnToWrite)
        {
            throw new InvalidOperationException($"not this side's turn to write (message {_message + 1}, {(IsInitiator ? "initiator" : "responder")}{(_failed ? ", failed" : string.Empty)})");
        }

        var written = 0;
        switch (_message)
        {
            case 0: // -> e
                written += WriteEphemeral(destination);
                break;
            case 1: // <- e, ee, s, es
                written += WriteEphemeral(destination);
                MixDh(_ephemeral, _remoteEphemeral);
                written += _symmetric.EncryptAndHash(_static.PublicKey, destination[written..]);
                MixDh(_static, _remoteEphemeral);
                break;
            default: // -> s, se
                written += _symmetric.EncryptAndHash(_static.PublicKey, destination);
                MixDh(_static, _remoteEphemeral);
                break;
        }

        written += _symmetric.EncryptAndHash(payload, destination[written..]);
        _message++;
        return written;
    }

    /// <summary>Reads the peer's next message (§5.3 ReadMessage). Never throws on untrusted bytes.</summary>
    /// <param name="message">The received message.</param>
    /// <param name="payload">Room for the payload: the message's length less its overhead.</param>
    /// <param name="payloadLength">Payload bytes written.</param>
    /// <returns>False (and the state failed) when the message is malformed or does not authenticate, or it is not
    /// this side's turn to read.</returns>
    public bool TryReadMessage(ReadOnlySpan<byte> message, Span<byte> payload, out int payloadLength)
    {
        payloadLength = 0;
        if (_failed || _message >= 3 || (_message % 2 == 0) == IsInitiator || !TryRead(message, payload, out payloadLength))
        {
            _failed = true;
            payloadLength = 0;
            return false;
        }

        _message++;
        return true;
    }

    /// <summary>Derives the transport ciphers (§5.2 Split), oriented for this side.</summary>
    /// <returns>The cipher this side sends with and the one it receives with; the caller owns both.</returns>
    /// <exception cref="InvalidOperationException">The handshake is not complete.</exception>
    public (CipherState Send, CipherState Receive) Split()
    {
        if (!IsComplete)
        {
            throw new InvalidOperationException("the handshake is not complete");
        }

        var (first, second) = _symmetric.Split();
        return IsInitiator ? (first, second) : (second, first);
    }

    /// <summary>Erases the ephemeral key and the symmetric state (the static key is the caller's).</summary>
    public void Dispose()
    {
        _ephemeral.Dispose();
        _symmetric.Dispose();
    }

    private bool TryRead(ReadOnlySpan<byte> message, Span<byte> payload, out int payloadLength)
    {
        payloadLength = 0;
        var overhead = _message switch { 0 => Message1Overhead, 1 => Message2Overhead, _ => Message3Overhead };
        if (message.Length < overhead || payload.Length < message.Length - overhead)
        {
            return false;
        }

        var read = 0;
        switch (_message)
        {
            case 0: // -> e
                if (!TryReadEphemeral(message, out read))
                {
                    return false;
                }

                break;
            case 1: // <- e, ee, s, es
                if (!TryReadEphemeral(message, out read) || !TryMixDh(_ephemeral, _remoteEphemeral) || !TryReadStatic(message[read..], ref read) || !TryMixDh(_ephemeral, _remoteStatic))
                {
                    return false;
                }

                break;
            default: // -> s, se
                if (!TryReadStatic(message, ref read) || !TryMixDh(_ephemeral, _remoteStatic))
                {
                    return false;
                }

                break;
        }

        return _symmetric.TryDecryptAndHash(message[read..], payload, out payloadLength);
    }

    private int WriteEphemeral(Span<byte> destination)
    {
        _ephemeral.PublicKey.CopyTo(destination);
        _symmetric.MixHash(_ephemeral.PublicKey);
        return DhLength;
    }

    private bool TryReadEphemeral(ReadOnlySpan<byte> message, out int read)
    {
        read = DhLength;
        message[..DhLength].CopyTo(_remoteEphemeral);
        _symmetric.MixHash(_remoteEphemeral);
        return true;
    }

    private bool TryReadStatic(ReadOnlySpan<byte> rest, ref int read)
    {
        if (!_symmetric.TryDecryptAndHash(rest[..(DhLength + CipherState.TagLength)], _remoteStatic, out _))
        {
            return false;
        }

        _hasRemoteStatic = true;
        read += DhLength + CipherState.TagLength;
        return true;
    }

    private void MixDh(X25519KeyPair local, ReadOnlySpan<byte> remote)
    {
        if (!TryMixDh(local, remote))
        {
            throw new InvalidOperationException("X25519 gave no shared secret for a key this side already accepted");
        }
    }

    /// <summary>MixKey(DH(local, remote)); false when libsodium refuses the point (the all-zero output of a low-order key).</summary>
    private bool TryMixDh(X25519KeyPair local, ReadOnlySpan<byte> remote)
    {
        Span<byte> shared = stackalloc byte[X25519KeyPair.KeyLength];
        var agreed = local.TryAgree(remote, shared);
        if (agreed)
        {
            _symmetric.MixKey(shared);
        }

        System.Security.Cryptography.CryptographicOperations.ZeroMemory(shared);
        return agreed;
    }
}
