using NSec.Cryptography;
using BclAesGcm = System.Security.Cryptography.AesGcm;
using BclChaCha20Poly1305 = System.Security.Cryptography.ChaCha20Poly1305;

namespace Overlay.Transport.Sessions.Noise;

/// <summary>
/// The Noise SymmetricState (Noise rev. 34 §5.2) with SHA-256 (§12.5): the 32-byte chaining key ck, the 32-byte
/// handshake hash h, and the handshake's CipherState (key k, nonce n) for one cipher suite. HKDF (§4.3) is HMAC-SHA256
/// HKDF with ck as salt and empty info (.NET's <see cref="System.Security.Cryptography.HKDF"/>). The handshake's k
/// encrypts at most two short fields before the next MixKey replaces it, so it is used through .NET's
/// <see cref="BclChaCha20Poly1305"/> / <see cref="BclAesGcm"/> (OpenSSL; a key costs about 2 µs) rather than an NSec
/// <c>Key</c> (a guarded libsodium allocation, see <see cref="X25519KeyPair"/>); the long-lived transport keys of
/// <see cref="Split"/> are NSec <see cref="CipherState"/>s. Secrets of ours (ck, k) are erased on <see cref="Dispose"/>.
/// Not thread-safe.
/// </summary>
internal sealed class SymmetricState : IDisposable
{
    /// <summary>Length of a hash output and of ck and h, bytes: 32.</summary>
    public const int HashLength = 32;

    private readonly byte[] _ck = new byte[HashLength];
    private readonly byte[] _h = new byte[HashLength];
    private readonly byte[] _k = new byte[CipherState.KeyLength];
    private bool _hasKey;
    private ulong _n;

    /// <summary>Initializes for a suite (§5.2 InitializeSymmetric): h = the protocol name
    /// (<see cref="CipherSuiteNegotiation.ProtocolName"/>, 32 ASCII bytes, so exactly HASHLEN and used as is); ck = h; no
    /// key.</summary>
    /// <param name="suite">ChaChaPoly or AesGcm.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="suite"/> is not exactly one known suite.</exception>
    public SymmetricState(SessionCipherSuites suite)
    {
        Suite = suite;
        // Both names are at most 32 ASCII bytes, so §5.2's "else h = HASH(protocol_name)" never applies.
        System.Text.Encoding.ASCII.GetBytes(CipherSuiteNegotiation.ProtocolName(suite), _h);
        _h.CopyTo(_ck, 0);
    }

    /// <summary>Gets the cipher suite.</summary>
    public SessionCipherSuites Suite { get; }

    /// <summary>Gets the handshake hash h (§5.2 GetHandshakeHash): 32 bytes, for channel binding once the handshake is done.</summary>
    public ReadOnlySpan<byte> HandshakeHash => _h;

    /// <summary>Gets whether a key has been mixed in, so payloads are encrypted.</summary>
    public bool HasKey => _hasKey;

    /// <summary>ck, temp_k = HKDF(ck, dh, 2); InitializeKey(temp_k) (§5.2 MixKey).</summary>
    /// <param name="dh">A Diffie-Hellman output: 32 bytes.</param>
    public void MixKey(ReadOnlySpan<byte> dh)
    {
        Span<byte> prk = stackalloc byte[HashLength];
        Span<byte> output = stackalloc byte[2 * HashLength];
        System.Security.Cryptography.HKDF.Extract(System.Security.Cryptography.HashAlgorithmName.SHA256, dh, _ck, prk);
        System.Security.Cryptography.HKDF.Expand(System.Security.Cryptography.HashAlgorithmName.SHA256, prk, output, default);
        output[..HashLength].CopyTo(_ck);
        output[HashLength..].CopyTo(_k);
        _hasKey = true;
        _n = 0;
        prk.Clear();
        output.Clear();
    }

    /// <summary>h = SHA-256(h || data) (§5.2 MixHash).</summary>
    /// <param name="data">Bytes to mix.</param>
    public void MixHash(ReadOnlySpan<byte> data)
    {
        IncrementalHash.Initialize(HashAlgorithm.Sha256, out var state);
        IncrementalHash.Update(ref state, _h);
        IncrementalHash.Update(ref state, data);
        IncrementalHash.Finalize(ref state, _h);
    }

    /// <summary>Encrypts with h as associated data, then mixes the ciphertext into h (§5.2 EncryptAndHash).</summary>
    /// <param name="plaintext">The plaintext.</param>
    /// <param name="destination">Room for plaintext + 16 bytes (plaintext bytes before the first key).</param>
    /// <returns>Bytes written.</returns>
    public int EncryptAndHash(ReadOnlySpan<byte> plaintext, Span<byte> destination)
    {
        var written = plaintext.Length;
        if (!_hasKey)
        {
            plaintext.CopyTo(destination);
        }
        else
        {
            Span<byte> iv = stackalloc byte[12];
            CipherState.WriteNonce(Suite, _n, iv);
            var ciphertext = destination[..plaintext.Length];
            var tag = destination.Slice(plaintext.Length, CipherState.TagLength);
            if (Suite == SessionCipherSuites.AesGcm)
            {
                using var aead = new BclAesGcm(_k, CipherState.TagLength);
                aead.Encrypt(iv, plaintext, ciphertext, tag, _h);
            }
            else
            {
                using var aead = new BclChaCha20Poly1305(_k);
                aead.Encrypt(iv, plaintext, ciphertext, tag, _h);
            }

            _n++;
            written += CipherState.TagLength;
        }

        MixHash(destination[..written]);
        return written;
    }

    /// <summary>Decrypts with h as associated data, then mixes the ciphertext into h (§5.2 DecryptAndHash). Never
    /// throws on untrusted bytes.</summary>
    /// <param name="ciphertext">The ciphertext (and tag once keyed).</param>
    /// <param name="destination">Room for the plaintext.</param>
    /// <param name="written">Plaintext bytes written.</param>
    /// <returns>False when authentication fails; the state must then be abandoned.</returns>
    public bool TryDecryptAndHash(ReadOnlySpan<byte> ciphertext, Span<byte> destination, out int written)
    {
        written = 0;
        if (!_hasKey)
        {
            ciphertext.CopyTo(destination);
        }
        else if (ciphertext.Length < CipherState.TagLength || !TryOpen(ciphertext, destination[..(ciphertext.Length - CipherState.TagLength)]))
        {
            return false;
        }

        written = _hasKey ? ciphertext.Length - CipherState.TagLength : ciphertext.Length;
        MixHash(ciphertext);
        return true;
    }

    /// <summary>Derives the two transport CipherStates (§5.2 Split): temp_k1, temp_k2 = HKDF(ck, empty, 2).</summary>
    /// <returns>The initiator-to-responder and the responder-to-initiator cipher.</returns>
    public (CipherState First, CipherState Second) Split()
    {
        Span<byte> prk = stackalloc byte[HashLength];
        Span<byte> output = stackalloc byte[2 * HashLength];
        // HKDF-Extract with empty input keying material, which OpenSSL's HKDF refuses: temp_key = HMAC-SHA256(ck, empty).
        System.Security.Cryptography.HMACSHA256.HashData(_ck, ReadOnlySpan<byte>.Empty, prk);
        System.Security.Cryptography.HKDF.Expand(System.Security.Cryptography.HashAlgorithmName.SHA256, prk, output, default);
        var first = new CipherState(Suite);
        var second = new CipherState(Suite);
        first.InitializeKey(output[..HashLength]);
        second.InitializeKey(output[HashLength..]);
        prk.Clear();
        output.Clear();
        return (first, second);
    }

    /// <summary>Erases ck and the key.</summary>
    public void Dispose()
    {
        Array.Clear(_ck);
        Array.Clear(_k);
        _hasKey = false;
    }

    /// <summary>DECRYPT(k, n, h, ciphertext) and n + 1 on success; false (n unchanged) when the tag does not verify.</summary>
    private bool TryOpen(ReadOnlySpan<byte> ciphertext, Span<byte> plaintext)
    {
        Span<byte> iv = stackalloc byte[12];
        CipherState.WriteNonce(Suite, _n, iv);
        var body = ciphertext[..plaintext.Length];
        var tag = ciphertext[plaintext.Length..];
        try
        {
            if (Suite == SessionCipherSuites.AesGcm)
            {
                using var aead = new BclAesGcm(_k, CipherState.TagLength);
                aead.Decrypt(iv, body, tag, plaintext, _h);
            }
            else
            {
                using var aead = new BclChaCha20Poly1305(_k);
                aead.Decrypt(iv, body, tag, plaintext, _h);
            }
        }
        catch (System.Security.Cryptography.AuthenticationTagMismatchException)
        {
            plaintext.Clear();
            return false;
        }

        _n++;
        return true;
    }
}
