using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace Overlay.Transport.Sessions.Noise;

/// <summary>
/// An X25519 key pair (RFC 7748; Noise rev. 34 §12.1 GENERATE_KEYPAIR and DH) on raw 32-byte keys, computed by
/// libsodium's <c>crypto_scalarmult_curve25519</c>: the same library and code NSec's X25519 runs, called directly
/// because every NSec <c>Key</c> and <c>SharedSecret</c> is a guarded libsodium allocation (sodium_malloc: mmap,
/// mprotect and mlock, undone on free) that cost 180-800 µs each on the benchmark VM, several times the scalar
/// multiplication itself, and a handshake made eight of them. The private key lives in a pinned array, erased on
/// <see cref="Dispose"/>; shared secrets go to the caller's span (a stack buffer it clears). Thread-safe for
/// <see cref="TryAgree"/>; not after disposal.
/// </summary>
internal sealed class X25519KeyPair : IDisposable
{
    /// <summary>Length of a private key, a public key and a shared secret, bytes: 32.</summary>
    public const int KeyLength = 32;

    private const string LibSodium = "libsodium";
    private readonly byte[] _private = GC.AllocateArray<byte>(KeyLength, pinned: true);
    private readonly byte[] _public = new byte[KeyLength];
    private bool _disposed;

    static X25519KeyPair()
    {
        // sodium_init picks the fastest implementation for this CPU; it is idempotent and NSec calls it too.
        if (SodiumInit() < 0)
        {
            throw new InvalidOperationException("libsodium failed to initialise");
        }
    }

    private X25519KeyPair(ReadOnlySpan<byte> privateKey)
    {
        privateKey.CopyTo(_private);
        if (ScalarMultBase(ref _public[0], ref _private[0]) != 0)
        {
            CryptographicOperations.ZeroMemory(_private);
            throw new CryptographicException("the X25519 private key gives no public key");
        }
    }

    /// <summary>Gets the 32-byte public key.</summary>
    public ReadOnlySpan<byte> PublicKey => _public;

    /// <summary>Makes a key pair from 32 random bytes (<see cref="RandomNumberGenerator"/>).</summary>
    /// <returns>The key pair; the caller owns it.</returns>
    public static X25519KeyPair Generate()
    {
        Span<byte> privateKey = stackalloc byte[KeyLength];
        RandomNumberGenerator.Fill(privateKey);
        try
        {
            return new X25519KeyPair(privateKey);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(privateKey);
        }
    }

    /// <summary>Makes the key pair of a given private key (test vectors).</summary>
    /// <param name="privateKey">32 bytes (clamped by the scalar multiplication, RFC 7748 §5).</param>
    /// <returns>The key pair; the caller owns it.</returns>
    /// <exception cref="ArgumentException"><paramref name="privateKey"/> is not 32 bytes.</exception>
    public static X25519KeyPair FromPrivateKey(ReadOnlySpan<byte> privateKey) =>
        privateKey.Length == KeyLength ? new X25519KeyPair(privateKey) : throw new ArgumentException($"an X25519 private key is {KeyLength} bytes", nameof(privateKey));

    /// <summary>Computes DH(this private key, <paramref name="peerPublicKey"/>) (RFC 7748 §6.1). Never throws on
    /// untrusted bytes.</summary>
    /// <param name="peerPublicKey">The peer's public key; anything but 32 bytes fails.</param>
    /// <param name="sharedSecret">32 bytes to receive the shared secret; cleared on failure.</param>
    /// <returns>False when the key is not 32 bytes or the result is all zeros (a low-order point, which libsodium refuses).</returns>
    /// <exception cref="ObjectDisposedException">The key pair was disposed.</exception>
    public bool TryAgree(ReadOnlySpan<byte> peerPublicKey, Span<byte> sharedSecret)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (peerPublicKey.Length != KeyLength || sharedSecret.Length < KeyLength)
        {
            return false;
        }

        if (ScalarMult(ref MemoryMarshal.GetReference(sharedSecret), ref _private[0], ref MemoryMarshal.GetReference(peerPublicKey)) != 0)
        {
            sharedSecret[..KeyLength].Clear();
            return false;
        }

        return true;
    }

    /// <summary>Erases the private key.</summary>
    public void Dispose()
    {
        _disposed = true;
        CryptographicOperations.ZeroMemory(_private);
    }

    [DllImport(LibSodium, EntryPoint = "sodium_init")]
    private static extern int SodiumInit();

    /// <summary>crypto_scalarmult_curve25519(q, n, p): q = n·p; −1 when q is all zeros.</summary>
    [DllImport(LibSodium, EntryPoint = "crypto_scalarmult_curve25519")]
    private static extern int ScalarMult(ref byte q, ref byte n, ref byte p);

    /// <summary>crypto_scalarmult_curve25519_base(q, n): q = n·9.</summary>
    [DllImport(LibSodium, EntryPoint = "crypto_scalarmult_curve25519_base")]
    private static extern int ScalarMultBase(ref byte q, ref byte n);
}
