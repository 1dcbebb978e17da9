using System.Text;
using NSec.Cryptography;

namespace Overlay.Transport.Sessions.Noise;

/// <summary>
/// The Noise SymmetricState (Noise rev. 34 §5.2) with SHA-256 (§12.5): the 32-byte chaining key ck, the 32-byte
/// handshake hash h, and a <see cref="CipherState"/>. HKDF (§4.3) is HMAC-SHA256 HKDF with ck as salt and empty info,
/// done by NSec's HKDF-SHA256 Extract and Expand, so a Diffie-Hellman output is fed in as an NSec
/// <see cref="SharedSecret"/> and never leaves libsodium's memory as bytes of ours. Not thread-safe.
/// </summary>
internal sealed class SymmetricState : IDisposable
{
    /// <summary>Length of a hash output and of ck and h, bytes: 32.</summary>
    public const int HashLength = 32;

    private static readonly KeyDerivationAlgorithm2 Hkdf = KeyDerivationAlgorithm.HkdfSha256;
    private readonly byte[] _ck = new byte[HashLength];
    private readonly byte[] _h = new byte[HashLength];
    private readonly CipherState _cipher = new();

    /// <summary>Initializes from the protocol name (§5.2 InitializeSymmetric): h = the name padded with zeros to 32
    /// bytes if it fits, else SHA-256 of it; ck = h; no key.</summary>
    /// <param name="protocolName">E.g. <c>Noise_XX_25519_ChaChaPoly_SHA256</c> (ASCII).</param>
    public SymmetricState(string protocolName)
    {
        var name = Encoding.ASCII.GetBytes(protocolName);
        if (name.Length <= HashLength)
        {
            name.CopyTo(_h, 0);
        }
        else
        {
            HashAlgorithm.Sha256.Hash(name, _h);
        }

        _h.CopyTo(_ck, 0);
    }

    /// <summary>Gets the handshake hash h (§5.2 GetHandshakeHash): 32 bytes, for channel binding once the handshake is done.</summary>
    public ReadOnlySpan<byte> HandshakeHash => _h;

    /// <summary>Gets whether a key has been mixed in, so payloads are encrypted.</summary>
    public bool HasKey => _cipher.HasKey;

    /// <summary>ck, temp_k = HKDF(ck, dh, 2); InitializeKey(temp_k) (§5.2 MixKey).</summary>
    /// <param name="dh">A Diffie-Hellman output.</param>
    public void MixKey(SharedSecret dh)
    {
        Span<byte> prk = stackalloc byte[HashLength];
        Span<byte> output = stackalloc byte[2 * HashLength];
        Hkdf.Extract(dh, _ck, prk);
        Hkdf.Expand(prk, default, output);
        output[..HashLength].CopyTo(_ck);
        _cipher.InitializeKey(output[HashLength..]);
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
        var written = _cipher.EncryptWithAd(_h, plaintext, destination);
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
        if (!_cipher.TryDecryptWithAd(_h, ciphertext, destination, out written))
        {
            return false;
        }

        MixHash(ciphertext);
        return true;
    }

    /// <summary>Derives the two transport CipherStates (§5.2 Split): temp_k1, temp_k2 = HKDF(ck, empty, 2).</summary>
    /// <returns>The initiator-to-responder and the responder-to-initiator cipher.</returns>
    public (CipherState First, CipherState Second) Split()
    {
        Span<byte> prk = stackalloc byte[HashLength];
        Span<byte> output = stackalloc byte[2 * HashLength];
        // HKDF-Extract with empty input keying material, which NSec's Extract refuses: temp_key = HMAC-SHA256(ck, empty).
        using (var ck = Key.Import(MacAlgorithm.HmacSha256, _ck, KeyBlobFormat.RawSymmetricKey))
        {
            MacAlgorithm.HmacSha256.Mac(ck, ReadOnlySpan<byte>.Empty, prk);
        }

        Hkdf.Expand(prk, default, output);
        var first = new CipherState();
        var second = new CipherState();
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
        _cipher.Dispose();
    }
}
