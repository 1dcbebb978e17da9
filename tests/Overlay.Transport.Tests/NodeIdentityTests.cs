using System.Security.Cryptography;

namespace Overlay.Transport.Tests;

/// <summary>Ed25519 identity (RFC 8032): key file handling, node ID derivation, signing and non-throwing verification.</summary>
public sealed class NodeIdentityTests : IDisposable
{
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("overlay-identity-");

    public void Dispose() => _directory.Delete(recursive: true);

    [Fact]
    public void LoadOrCreate_CreatesFileWithMode0600_AndReloadsTheSameIdentity()
    {
        var path = Path.Combine(_directory.FullName, "nested", "dir", "node.key");
        var created = NodeIdentity.LoadOrCreate(path);

        Assert.True(File.Exists(path));
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        }

        var lines = File.ReadAllText(path).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("overlay-ed25519-v1", lines[0]);
        Assert.Equal(32, Convert.FromBase64String(lines[1]).Length);

        // Only the key file is left behind: the temporary file used for the atomic write is gone.
        Assert.Equal(["node.key"], Directory.GetFiles(Path.GetDirectoryName(path)!).Select(Path.GetFileName));

        var loaded = NodeIdentity.LoadOrCreate(path);
        Assert.Equal(created.Id, loaded.Id);
        Assert.Equal(created.PublicKey.ToArray(), loaded.PublicKey.ToArray());
        var signature = loaded.Sign("m"u8);
        Assert.True(NodeIdentity.Verify(created.PublicKey.Span, "m"u8, signature));
    }

    [Fact]
    public void LoadOrCreate_ReadsAKnownSeed_IncludingCrLfLineEnds()
    {
        var seed = new byte[32];
        new Random(1).NextBytes(seed);
        var path = Path.Combine(_directory.FullName, "known.key");
        File.WriteAllText(path, $"overlay-ed25519-v1\r\n{Convert.ToBase64String(seed)}\r\n");

        var identity = NodeIdentity.LoadOrCreate(path);

        Assert.Equal(NodeIdentity.FromSeed(seed).Id, identity.Id);
        Assert.Equal(NodeId.HashOf(identity.PublicKey.Span), identity.Id);
    }

    public static TheoryData<string> MalformedFiles() => new()
    {
        "",
        "\n\n",
        "garbage",
        "overlay-ed25519-v1\n",
        "overlay-ed25519-v2\n" + Convert.ToBase64String(new byte[32]) + "\n",
        Convert.ToBase64String(new byte[32]) + "\n",
        "overlay-ed25519-v1\nnot base64!\n",
        "overlay-ed25519-v1\n" + Convert.ToBase64String(new byte[31]) + "\n",
        "overlay-ed25519-v1\n" + Convert.ToBase64String(new byte[33]) + "\n",
        "overlay-ed25519-v1\n" + Convert.ToBase64String(new byte[64]) + "\n",
        "overlay-ed25519-v1\n" + Convert.ToBase64String(new byte[32]) + "\nextra\n",
    };

    [Theory]
    [MemberData(nameof(MalformedFiles))]
    public void LoadOrCreate_MalformedFile_ThrowsInvalidData_AndLeavesItAlone(string content)
    {
        var path = Path.Combine(_directory.FullName, "bad.key");
        File.WriteAllText(path, content);

        Assert.Throws<InvalidDataException>(() => NodeIdentity.LoadOrCreate(path));
        Assert.Equal(content, File.ReadAllText(path));
    }

    [Fact]
    public void LoadOrCreate_BinaryGarbage_ThrowsInvalidData()
    {
        var path = Path.Combine(_directory.FullName, "binary.key");
        var bytes = new byte[200];
        new Random(2).NextBytes(bytes);
        File.WriteAllBytes(path, bytes);
        Assert.Throws<InvalidDataException>(() => NodeIdentity.LoadOrCreate(path));
    }

    [Fact]
    public void Generate_GivesDistinctIdentities_IdIsSha256OfPublicKey()
    {
        var a = NodeIdentity.Generate();
        var b = NodeIdentity.Generate();
        Assert.NotEqual(a.Id, b.Id);
        Assert.Equal(SHA256.HashData(a.PublicKey.Span), a.Id.ToArray());
        Assert.Equal(NodeIdentity.PublicKeyLength, a.PublicKey.Length);
    }

    [Fact]
    public void FromSeed_WrongLength_Throws()
    {
        Assert.Throws<ArgumentException>(() => NodeIdentity.FromSeed(new byte[31]));
        Assert.Throws<ArgumentException>(() => NodeIdentity.FromSeed(new byte[33]));
    }

    [Theory]
    [InlineData(
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        "",
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b")]
    [InlineData(
        "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        "72",
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00")]
    public void Sign_MatchesRfc8032TestVectors(string secret, string publicKey, string message, string signature)
    {
        var identity = NodeIdentity.FromSeed(Convert.FromHexString(secret));
        Assert.Equal(publicKey, Convert.ToHexStringLower(identity.PublicKey.Span));
        Assert.Equal(signature, Convert.ToHexStringLower(identity.Sign(Convert.FromHexString(message))));
        Assert.True(NodeIdentity.Verify(Convert.FromHexString(publicKey), Convert.FromHexString(message), Convert.FromHexString(signature)));
    }

    [Fact]
    public void Verify_FalseForWrongMessageKeyOrSignature()
    {
        var identity = Identity(21);
        var other = Identity(22);
        var message = "message"u8.ToArray();
        var signature = identity.Sign(message);
        var key = identity.PublicKey.ToArray();

        Assert.Equal(NodeIdentity.SignatureLength, signature.Length);
        Assert.True(NodeIdentity.Verify(key, message, signature));
        Assert.False(NodeIdentity.Verify(key, "messagE"u8, signature));
        Assert.False(NodeIdentity.Verify(key, [], signature));
        Assert.False(NodeIdentity.Verify(other.PublicKey.Span, message, signature));
        Assert.False(NodeIdentity.Verify(key, message, signature[..63]));
        Assert.False(NodeIdentity.Verify(key, message, [.. signature, 0]));
        Assert.False(NodeIdentity.Verify(key, message, []));
        Assert.False(NodeIdentity.Verify(key[..31], message, signature));
        Assert.False(NodeIdentity.Verify([], message, signature));
        Assert.False(NodeIdentity.Verify(new byte[32], message, signature));
        Assert.False(NodeIdentity.Verify(Enumerable.Repeat((byte)0xff, 32).ToArray(), message, signature));
        Assert.False(NodeIdentity.Verify(key, message, new byte[64]));
        Assert.False(NodeIdentity.Verify(key, message, Enumerable.Repeat((byte)0xff, 64).ToArray()));

        for (var bit = 0; bit < 512; bit += 7)
        {
            var flipped = (byte[])signature.Clone();
            flipped[bit / 8] ^= (byte)(1 << (bit % 8));
            Assert.False(NodeIdentity.Verify(key, message, flipped), $"signature with bit {bit} flipped verifies");
        }
    }

    [Fact]
    public void Verify_NeverThrows_OnRandomKeysAndSignatures()
    {
        var random = new Random(23);
        var valid = Identity(24);
        var message = "m"u8.ToArray();
        var signature = valid.Sign(message);
        var verified = 0;
        for (var i = 0; i < 1500; i++)
        {
            var key = new byte[random.Next(3) == 0 ? random.Next(0, 40) : 32];
            random.NextBytes(key);
            var sig = new byte[random.Next(3) == 0 ? random.Next(0, 80) : 64];
            random.NextBytes(sig);
            if (i % 2 == 0 && sig.Length == 64)
            {
                // Keep a valid R or S half, so decoding gets past the first checks.
                signature.AsSpan(i % 4 == 0 ? 0 : 32, 32).CopyTo(sig.AsSpan(i % 4 == 0 ? 0 : 32));
            }

            if (NodeIdentity.Verify(key, message, sig))
            {
                verified++;
            }
        }

        Assert.Equal(0, verified);
    }

    /// <summary>Returns the identity whose 32-byte seed comes from <c>new Random(seed)</c>.</summary>
    private static NodeIdentity Identity(int seed)
    {
        var bytes = new byte[32];
        new Random(seed).NextBytes(bytes);
        return NodeIdentity.FromSeed(bytes);
    }
}
