using System.Buffers.Binary;
using NSec.Cryptography;

namespace Overlay.Transport.Sessions.Noise;

/// <summary>
/// A Noise CipherState (Noise rev. 34 §5.1) for one cipher suite: a 32-byte key k and a 64-bit nonce counter n. The
/// 96-bit AEAD nonce is 4 zero bytes followed by n as 8 bytes, little endian for ChaChaPoly (§12.3, RFC 8439) and big
/// endian for AESGCM (§12.4, AES-256-GCM); both by NSec (libsodium). Ciphertexts are the plaintext's length +
/// <see cref="TagLength"/>. Besides the handshake's counting use (<see cref="EncryptWithAd"/>,
/// <see cref="TryDecryptWithAd"/>), sessions encrypt with an explicit nonce (<see cref="Seal"/>, <see cref="TryOpen"/>:
/// §5.1's SetNonce, for packets that may arrive out of order). Not thread-safe; dispose to erase the key.
/// </summary>
internal sealed class CipherState : IDisposable
{
    /// <summary>Length of a key, bytes: 32.</summary>
    public const int KeyLength = 32;

    /// <summary>Length of the AEAD tag, bytes: 16.</summary>
    public const int TagLength = 16;

    /// <summary>The nonce reserved for <see cref="Rekey"/> (§5.1): 2^64 − 1, never used to encrypt a message.</summary>
    public const ulong MaxNonce = ulong.MaxValue;

    private readonly AeadAlgorithm _aead;
    private Key? _key;

    /// <summary>Creates a CipherState without a key.</summary>
    /// <param name="suite">Exactly one of <see cref="SessionCipherSuites.ChaChaPoly"/> and
    /// <see cref="SessionCipherSuites.AesGcm"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="suite"/> is not exactly one known suite.</exception>
    /// <exception cref="PlatformNotSupportedException">AESGCM on a CPU without AES instructions (libsodium's AES-256-GCM
    /// needs them).</exception>
    public CipherState(SessionCipherSuites suite)
    {
        Suite = suite;
        _aead = suite switch
        {
            SessionCipherSuites.ChaChaPoly => AeadAlgorithm.ChaCha20Poly1305,
            SessionCipherSuites.AesGcm => Aes256Gcm.IsSupported ? AeadAlgorithm.Aes256Gcm : throw new PlatformNotSupportedException("AES-256-GCM needs a CPU with AES instructions"),
            _ => throw new ArgumentOutOfRangeException(nameof(suite), suite, "one cipher suite: ChaChaPoly or AesGcm"),
        };
    }

    /// <summary>Gets the cipher suite, which fixes the AEAD and the nonce's byte order.</summary>
    public SessionCipherSuites Suite { get; }

    /// <summary>Gets whether a key is set (§5.1 HasKey).</summary>
    public bool HasKey => _key is not null;

    /// <summary>Gets the next nonce <see cref="EncryptWithAd"/> and <see cref="TryDecryptWithAd"/> use.</summary>
    public ulong Nonce { get; private set; }

    /// <summary>Sets the key and resets the nonce to 0 (§5.1 InitializeKey).</summary>
    /// <param name="key">32 bytes.</param>
    /// <exception cref="ArgumentException"><paramref name="key"/> is not 32 bytes.</exception>
    public void InitializeKey(ReadOnlySpan<byte> key)
    {
        if (key.Length != KeyLength)
        {
            throw new ArgumentException($"a key is {KeyLength} bytes", nameof(key));
        }

        _key?.Dispose();
        _key = Key.Import(_aead, key, KeyBlobFormat.RawSymmetricKey);
        Nonce = 0;
    }

    /// <summary>Encrypts with the counting nonce and increments it (§5.1 EncryptWithAd); with no key, copies the
    /// plaintext.</summary>
    /// <param name="ad">Associated data.</param>
    /// <param name="plaintext">The plaintext.</param>
    /// <param name="destination">At least plaintext + 16 bytes with a key, plaintext bytes without.</param>
    /// <returns>Bytes written.</returns>
    /// <exception cref="InvalidOperationException">The nonce is exhausted (reached 2^64 − 1).</exception>
    public int EncryptWithAd(ReadOnlySpan<byte> ad, ReadOnlySpan<byte> plaintext, Span<byte> destination)
    {
        if (_key is null)
        {
            plaintext.CopyTo(destination);
            return plaintext.Length;
        }

        if (Nonce == MaxNonce)
        {
            throw new InvalidOperationException("the cipher's nonce is exhausted; rekey or start a new session");
        }

        var written = Seal(Nonce, ad, plaintext, destination);
        Nonce++;
        return written;
    }

    /// <summary>Decrypts with the counting nonce and increments it on success (§5.1 DecryptWithAd); with no key, copies
    /// the ciphertext. Never throws on untrusted bytes.</summary>
    /// <param name="ad">Associated data.</param>
    /// <param name="ciphertext">The ciphertext and tag.</param>
    /// <param name="destination">At least ciphertext − 16 bytes.</param>
    /// <param name="written">Bytes of plaintext written.</param>
    /// <returns>False when authentication fails, the input is shorter than a tag, or the nonce is exhausted; the nonce
    /// is then unchanged.</returns>
    public bool TryDecryptWithAd(ReadOnlySpan<byte> ad, ReadOnlySpan<byte> ciphertext, Span<byte> destination, out int written)
    {
        if (_key is null)
        {
            ciphertext.CopyTo(destination);
            written = ciphertext.Length;
            return true;
        }

        if (Nonce == MaxNonce || !TryOpen(Nonce, ad, ciphertext, destination, out written))
        {
            written = 0;
            return false;
        }

        Nonce++;
        return true;
    }

    /// <summary>Encrypts under an explicit nonce, leaving <see cref="Nonce"/> alone.</summary>
    /// <param name="nonce">The 64-bit nonce (a packet number); below 2^64 − 1, each used once per key.</param>
    /// <param name="ad">Associated data (e.g. a packet header).</param>
    /// <param name="plaintext">The plaintext.</param>
    /// <param name="destination">At least plaintext + 16 bytes; may not overlap the plaintext except exactly.</param>
    /// <returns>Bytes written: plaintext + 16.</returns>
    /// <exception cref="InvalidOperationException">No key is set.</exception>
    public int Seal(ulong nonce, ReadOnlySpan<byte> ad, ReadOnlySpan<byte> plaintext, Span<byte> destination)
    {
        var key = _key ?? throw new InvalidOperationException("no key is set");
        Span<byte> iv = stackalloc byte[12];
        WriteNonce(Suite, nonce, iv);
        _aead.Encrypt(key, iv, ad, plaintext, destination[..(plaintext.Length + TagLength)]);
        return plaintext.Length + TagLength;
    }

    /// <summary>Decrypts under an explicit nonce, leaving <see cref="Nonce"/> alone. Never throws on untrusted bytes.</summary>
    /// <param name="nonce">The packet's nonce.</param>
    /// <param name="ad">Associated data.</param>
    /// <param name="ciphertext">Ciphertext and tag.</param>
    /// <param name="destination">At least ciphertext − 16 bytes.</param>
    /// <param name="written">Bytes of plaintext written.</param>
    /// <returns>False when no key is set, the input is shorter than a tag, or authentication fails.</returns>
    public bool TryOpen(ulong nonce, ReadOnlySpan<byte> ad, ReadOnlySpan<byte> ciphertext, Span<byte> destination, out int written)
    {
        written = 0;
        if (_key is null || ciphertext.Length < TagLength || destination.Length < ciphertext.Length - TagLength)
        {
            return false;
        }

        Span<byte> iv = stackalloc byte[12];
        WriteNonce(Suite, nonce, iv);
        if (!_aead.Decrypt(_key, iv, ad, ciphertext, destination[..(ciphertext.Length - TagLength)]))
        {
            return false;
        }

        written = ciphertext.Length - TagLength;
        return true;
    }

    /// <summary>Replaces the key with the first 32 bytes of ENCRYPT(k, 2^64 − 1, empty, 32 zero bytes) (§4.2 REKEY's
    /// default, §5.1 Rekey, §11.3), the nonce encoded as the suite encodes any other; the nonce is unchanged.</summary>
    /// <exception cref="InvalidOperationException">No key is set.</exception>
    public void Rekey()
    {
        Span<byte> zeros = stackalloc byte[KeyLength];
        zeros.Clear();
        Span<byte> output = stackalloc byte[KeyLength + TagLength];
        Seal(MaxNonce, default, zeros, output);
        var next = Key.Import(_aead, output[..KeyLength], KeyBlobFormat.RawSymmetricKey);
        output.Clear();
        _key!.Dispose();
        _key = next;
    }

    /// <summary>Returns a new CipherState holding the key <see cref="Rekey"/> would make, leaving this one unchanged, for
    /// a receiver that must still open packets of the old key phase. Nonce 0.</summary>
    /// <returns>The next key phase's cipher; the caller owns it.</returns>
    /// <exception cref="InvalidOperationException">No key is set.</exception>
    public CipherState CreateRekeyed()
    {
        Span<byte> zeros = stackalloc byte[KeyLength];
        zeros.Clear();
        Span<byte> output = stackalloc byte[KeyLength + TagLength];
        Seal(MaxNonce, default, zeros, output);
        var next = new CipherState(Suite);
        next.InitializeKey(output[..KeyLength]);
        output.Clear();
        return next;
    }

    /// <summary>Erases the key.</summary>
    public void Dispose()
    {
        _key?.Dispose();
        _key = null;
    }

    /// <summary>Writes the 12-byte AEAD nonce of counter <paramref name="nonce"/> for <paramref name="suite"/>: 4 zero
    /// bytes, then the counter little endian (ChaChaPoly, §12.3) or big endian (AESGCM, §12.4).</summary>
    /// <param name="suite">ChaChaPoly or AesGcm.</param>
    /// <param name="nonce">The 64-bit counter.</param>
    /// <param name="iv">12 bytes.</param>
    public static void WriteNonce(SessionCipherSuites suite, ulong nonce, Span<byte> iv)
    {
        iv[..4].Clear();
        if (suite == SessionCipherSuites.AesGcm)
        {
            BinaryPrimitives.WriteUInt64BigEndian(iv[4..], nonce);
        }
        else
        {
            BinaryPrimitives.WriteUInt64LittleEndian(iv[4..], nonce);
        }
    }
}
