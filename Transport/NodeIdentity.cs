using System.Security.Cryptography;
using System.Text;
using NSec.Cryptography;

namespace Overlay.Transport;

/// <summary>
/// A node's long-term Ed25519 key pair (RFC 8032) and the node ID derived from it: SHA-256 of the 32-byte public key.
/// </summary>
/// <remarks>
/// Key file format (text, UTF-8, file mode 0600): the line <c>overlay-ed25519-v1</c>, then the 32-byte private
/// seed in standard base64 on the second line. Signing and verification use libsodium's RFC 8032 Ed25519 (pure, no
/// prehash, no context) through NSec.Cryptography: 2.1-2.2 times Portable.BouncyCastle's rate, which it replaced
/// (Bench/RESULTS.md, "Sessions"). Thread-safe.
/// </remarks>
public sealed class NodeIdentity
{
    /// <summary>Length of an Ed25519 public key in bytes (32).</summary>
    public const int PublicKeyLength = 32;

    /// <summary>Length of an Ed25519 signature in bytes (64).</summary>
    public const int SignatureLength = 64;

    private const string KeyFileHeader = "overlay-ed25519-v1";
    private const int SeedLength = 32;

    private static readonly SignatureAlgorithm Ed25519 = SignatureAlgorithm.Ed25519;
    private readonly byte[] _seed;
    private readonly byte[] _publicKey;
    private readonly object _keyGate = new();
    private Key? _signingKey;

    private NodeIdentity(byte[] seed)
    {
        _seed = seed;

        // libsodium keeps a private key in its guarded memory (a few pages each): derive the public key and let the
        // key go, so the thousands of identities of a simulation cost 32 + 32 bytes each until one of them signs.
        using (var key = Key.Import(Ed25519, seed, KeyBlobFormat.RawPrivateKey))
        {
            _publicKey = key.PublicKey.Export(KeyBlobFormat.RawPublicKey);
        }

        Id = NodeId.HashOf(_publicKey);
    }

    /// <summary>Gets the node ID: SHA-256 of <see cref="PublicKey"/>.</summary>
    public NodeId Id { get; }

    /// <summary>Gets the 32-byte Ed25519 public key.</summary>
    public ReadOnlyMemory<byte> PublicKey => _publicKey;

    /// <summary>Creates a new key pair from the operating system's CSPRNG.</summary>
    public static NodeIdentity Generate()
    {
        var seed = RandomNumberGenerator.GetBytes(SeedLength);
        return new NodeIdentity(seed);
    }

    /// <summary>Creates a key pair from a 32-byte seed (deterministic; for tests and simulations only).</summary>
    /// <param name="seed">32 bytes of private seed.</param>
    /// <exception cref="ArgumentException"><paramref name="seed"/> is not 32 bytes.</exception>
    public static NodeIdentity FromSeed(ReadOnlySpan<byte> seed)
    {
        if (seed.Length != SeedLength)
        {
            throw new ArgumentException($"An Ed25519 seed is {SeedLength} bytes; got {seed.Length}.", nameof(seed));
        }

        return new NodeIdentity(seed.ToArray());
    }

    /// <summary>
    /// Loads the key pair from <paramref name="path"/>, or creates one there (mode 0600, written atomically) when
    /// the file does not exist.
    /// </summary>
    /// <param name="path">The key file's path; its directory is created if missing.</param>
    /// <returns>The loaded or new identity.</returns>
    /// <exception cref="InvalidDataException">The file exists but is not a valid key file.</exception>
    /// <exception cref="IOException">The file cannot be read or written.</exception>
    /// <exception cref="UnauthorizedAccessException">The file or directory is not accessible.</exception>
    public static NodeIdentity LoadOrCreate(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (File.Exists(path))
        {
            return Load(path);
        }

        var directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(directory);
        var seed = RandomNumberGenerator.GetBytes(SeedLength);
        var text = $"{KeyFileHeader}\n{Convert.ToBase64String(seed)}\n";
        var temporary = Path.Combine(directory, $".{Path.GetFileName(path)}.{Guid.NewGuid():N}.tmp");
        var options = new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.Write,
            Options = FileOptions.WriteThrough,
        };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        try
        {
            using (var stream = new FileStream(temporary, options))
            {
                stream.Write(Encoding.UTF8.GetBytes(text));
                stream.Flush(flushToDisk: true);
            }

            File.Move(temporary, path, overwrite: false);
        }
        finally
        {
            File.Delete(temporary);
        }

        return new NodeIdentity(seed);
    }

    private static NodeIdentity Load(string path)
    {
        var lines = File.ReadAllText(path, Encoding.UTF8).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (lines.Length != 2 || lines[0] != KeyFileHeader)
        {
            throw new InvalidDataException($"Key file '{path}' is not an Overlay key file: expected the line '{KeyFileHeader}' and a base64 seed.");
        }

        var seed = new byte[SeedLength];
        if (!Convert.TryFromBase64String(lines[1], seed, out var written) || written != SeedLength)
        {
            throw new InvalidDataException($"Key file '{path}' holds no valid {SeedLength}-byte base64 seed.");
        }

        return new NodeIdentity(seed);
    }

    /// <summary>Signs <paramref name="message"/> with Ed25519 (RFC 8032 §5.1.6). The first call loads the private key
    /// into libsodium's guarded memory, where it stays. Thread-safe.</summary>
    /// <param name="message">The bytes to sign.</param>
    /// <returns>A 64-byte signature.</returns>
    public byte[] Sign(ReadOnlySpan<byte> message)
    {
        var key = Volatile.Read(ref _signingKey);
        if (key is null)
        {
            lock (_keyGate)
            {
                key = _signingKey ??= Key.Import(Ed25519, _seed, KeyBlobFormat.RawPrivateKey);
            }
        }

        return Ed25519.Sign(key, message);
    }

    /// <summary>Verifies an Ed25519 signature (RFC 8032 §5.1.7; libsodium's checks, which also refuse small-order
    /// keys and non-canonical signatures) without throwing on malformed input.</summary>
    /// <param name="publicKey">The signer's 32-byte public key.</param>
    /// <param name="message">The signed bytes.</param>
    /// <param name="signature">The 64-byte signature.</param>
    /// <returns><see langword="true"/> only for a well-formed key and a valid signature.</returns>
    public static bool Verify(ReadOnlySpan<byte> publicKey, ReadOnlySpan<byte> message, ReadOnlySpan<byte> signature) =>
        publicKey.Length == PublicKeyLength
        && signature.Length == SignatureLength
        && NSec.Cryptography.PublicKey.TryImport(Ed25519, publicKey, KeyBlobFormat.RawPublicKey, out var key)
        && Ed25519.Verify(key!, message, signature);
}
