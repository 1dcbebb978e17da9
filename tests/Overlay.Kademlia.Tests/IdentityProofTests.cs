using Overlay.Kademlia.Internal;

namespace Overlay.Kademlia.Tests;

/// <summary><see cref="IdentityProof"/>: a proof verifies only for its key's ID, its challenge and its verifier.</summary>
public sealed class IdentityProofTests
{
    private static readonly NodeIdentity Prover = NodeIdentity.FromSeed(Enumerable.Repeat((byte)1, 32).ToArray());
    private static readonly NodeIdentity Other = NodeIdentity.FromSeed(Enumerable.Repeat((byte)2, 32).ToArray());
    private static readonly NodeId Verifier = NodeId.Random(new Random(3));

    [Fact]
    public void Proof_Verifies_ForTheProversId_Challenge_AndVerifier()
    {
        var challenge = IdentityProof.NewChallenge();
        var signature = IdentityProof.Sign(Prover, challenge, Verifier);

        Assert.Equal(IdentityProof.ChallengeLength, challenge.Length);
        Assert.Equal(NodeIdentity.SignatureLength, signature.Length);
        Assert.True(IdentityProof.Verify(Prover.Id, Prover.PublicKey.Span, signature, challenge, Verifier));
    }

    [Fact]
    public void Proof_IsRefused_ForAnotherClaimedId_AKeyThatIsNotTheIds_AnotherChallenge_OrAnotherVerifier()
    {
        var challenge = IdentityProof.NewChallenge();
        var signature = IdentityProof.Sign(Prover, challenge, Verifier);
        var otherSignature = IdentityProof.Sign(Other, challenge, Verifier);

        // Someone else's ID with the prover's own valid proof: the key does not hash to the claimed ID.
        Assert.False(IdentityProof.Verify(Other.Id, Prover.PublicKey.Span, signature, challenge, Verifier));

        // The right key for the claimed ID, signed by another key: the signature does not verify.
        Assert.False(IdentityProof.Verify(Prover.Id, Prover.PublicKey.Span, otherSignature, challenge, Verifier));

        // A genuine proof replayed for a fresh challenge, or shown to another verifier.
        Assert.False(IdentityProof.Verify(Prover.Id, Prover.PublicKey.Span, signature, IdentityProof.NewChallenge(), Verifier));
        Assert.False(IdentityProof.Verify(Prover.Id, Prover.PublicKey.Span, signature, challenge, NodeId.Random(new Random(4))));
    }

    [Fact]
    public void Verify_MalformedInput_IsFalse_NeverThrows()
    {
        var challenge = IdentityProof.NewChallenge();
        var signature = IdentityProof.Sign(Prover, challenge, Verifier);

        Assert.False(IdentityProof.Verify(Prover.Id, [], signature, challenge, Verifier));
        Assert.False(IdentityProof.Verify(Prover.Id, Prover.PublicKey.Span[..31], signature, challenge, Verifier));
        Assert.False(IdentityProof.Verify(Prover.Id, Prover.PublicKey.Span, signature.AsSpan(0, 63), challenge, Verifier));
        Assert.False(IdentityProof.Verify(Prover.Id, Prover.PublicKey.Span, [], challenge, Verifier));
        Assert.False(IdentityProof.Verify(Prover.Id, Prover.PublicKey.Span, signature, challenge.AsSpan(0, 15), Verifier));
        Assert.Throws<ArgumentException>(() => IdentityProof.Sign(Prover, new byte[15], Verifier));
    }
}
