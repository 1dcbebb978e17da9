using System.Security.Cryptography;
using System.Text;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Crypto.Signers;

namespace Overlay.Transport;

/// <summary>
/// A node's long-term Ed25519 key pair (RFC 8032) and the node ID derived from it: SHA-256 of the 32-byte public key.
/// </summary>
/// <remarks>
/// Key file format (text, UTF-8, file mode 0600): the line <c>overlay-ed25519-v1</c>, then the 32-byte private
/// seed in standard base64 on the second line. Signing uses Portable.BouncyCastle's RFC 8032 Ed25519 (pure, no
/// prehash, no context). Thread-safe: signing and verification allocate their own signer.
/// </remarks>
public sealed class NodeIdentity
{
    /// <summary>Length of an Ed25519 public key in bytes (32).</summary>
    public const int PublicKeyLength = 32;

    /// <summary>Length of an Ed25519 signature in bytes (64).</summary>
    public const int SignatureLength = 64;

    private const string KeyFileHeader = "overlay-ed25519-v1";
    private const int SeedLength = 32;

    private readonly Ed25519PrivateKeyParameters _privateKey;
    private readonly byte[] _publicKey;

    private NodeIdentity(Ed25519PrivateKeyParameters privateKey)
    {
        _privateKey = privateKey;
        _publicKey = privateKey.GeneratePublicKey().GetEncoded();
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
        return new NodeIdentity(new Ed25519PrivateKeyParameters(seed, 0));
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

        return new NodeIdentity(new Ed25519PrivateKeyParameters(seed.ToArray(), 0));
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

        return new NodeIdentity(new Ed25519PrivateKeyParameters(seed, 0));
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

        return new NodeIdentity(new Ed25519PrivateKeyParameters(seed, 0));
    }

    /// <summary>Signs <paramref name="message"/> with Ed25519 (RFC 8032 §5.1.6).</summary>
    /// <param name="message">The bytes to sign.</param>
    /// <returns>A 64-byte signature.</returns>
    public byte[] Sign(ReadOnlySpan<byte> message)
    {
        var signer = new Ed25519Signer();
        signer.Init(true, _privateKey);
        var bytes = message.ToArray();
        signer.BlockUpdate(bytes, 0, bytes.Length);
        return signer.GenerateSignature();
    }

    /// <summary>Verifies an Ed25519 signature (RFC 8032 §5.1.7) without throwing on malformed input.</summary>
    /// <param name="publicKey">The signer's 32-byte public key.</param>
    /// <param name="message">The signed bytes.</param>
    /// <param name="signature">The 64-byte signature.</param>
    /// <returns><see langword="true"/> only for a well-formed key and a valid signature.</returns>
    public static bool Verify(ReadOnlySpan<byte> publicKey, ReadOnlySpan<byte> message, ReadOnlySpan<byte> signature)
    {
        if (publicKey.Length != PublicKeyLength || signature.Length != SignatureLength)
        {
            return false;
        }

        try
        {
            var verifier = new Ed25519Signer();
            verifier.Init(false, new Ed25519PublicKeyParameters(publicKey.ToArray(), 0));
            var bytes = message.ToArray();
            verifier.BlockUpdate(bytes, 0, bytes.Length);
            return verifier.VerifySignature(signature.ToArray());
        }
        catch (ArgumentException)
        {
            // A point that does not decode is an invalid key: the signature does not verify.
            return false;
        }
    }
}
