using Overlay.Transport.Sessions.Noise;

namespace Overlay.Transport.Tests;

/// <summary><see cref="X25519KeyPair"/>: RFC 7748's vector, and refusals that never throw.</summary>
public sealed class X25519KeyPairTests
{
    [Fact]
    public void PublicKeysAndTheSharedSecret_MatchRfc7748Section6_1()
    {
        using var alice = X25519KeyPair.FromPrivateKey(Convert.FromHexString("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"));
        using var bob = X25519KeyPair.FromPrivateKey(Convert.FromHexString("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb"));
        Assert.Equal("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a", Convert.ToHexStringLower(alice.PublicKey));
        Assert.Equal("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f", Convert.ToHexStringLower(bob.PublicKey));
        var ab = new byte[32];
        var ba = new byte[32];
        Assert.True(alice.TryAgree(bob.PublicKey, ab));
        Assert.True(bob.TryAgree(alice.PublicKey, ba));
        Assert.Equal("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742", Convert.ToHexStringLower(ab));
        Assert.Equal(ab, ba);
    }

    [Fact]
    public void ALowOrderOrMisSizedKey_IsRefused_AndADisposedPairThrows()
    {
        var pair = X25519KeyPair.Generate();
        var shared = new byte[32];
        Assert.False(pair.TryAgree(new byte[32], shared));
        Assert.Equal(new byte[32], shared);
        Assert.False(pair.TryAgree(new byte[31], shared));
        Assert.Throws<ArgumentException>(() => X25519KeyPair.FromPrivateKey(new byte[16]));
        pair.Dispose();
        Assert.Throws<ObjectDisposedException>(() => pair.TryAgree(new byte[32], shared));
    }
}
