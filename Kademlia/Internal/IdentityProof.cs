using System.Security.Cryptography;
using Google.Protobuf;
using Overlay.Kademlia.Wire;

namespace Overlay.Kademlia.Internal;

/// <summary>
/// The DHT identity proof (ARCHITECTURE.md, "Identity proofs"): a verifier PINGs a node with a fresh 16-byte challenge;
/// the node answers with its 32-byte Ed25519 public key and a signature over <c>"overlay-dht-pong:"</c> ‖ challenge ‖
/// the verifier's node ID. The verifier accepts when SHA-256 of the key is the ID the node claims and the signature
/// verifies (RFC 8032 §5.1.7). The domain prefix keeps the signature from serving as any other Overlay signature
/// (mutable records sign <c>"overlay-mutable-record-v1"</c> ‖ ...); the verifier's ID keeps one proof from serving
/// another verifier; the challenge keeps an old proof from serving again. Stateless and thread-safe.
/// </summary>
internal static class IdentityProof
{
    /// <summary>Length of a challenge, bytes: 16 (128 random bits, so a proof is never requested twice).</summary>
    public const int ChallengeLength = 16;

    /// <summary>The ASCII domain prefix of the signed message, 17 bytes.</summary>
    private static ReadOnlySpan<byte> Domain => "overlay-dht-pong:"u8;

    /// <summary>Draws a fresh challenge from the OS CSPRNG (a nonce: not from the node's seeded Random).</summary>
    /// <returns>16 random bytes.</returns>
    public static byte[] NewChallenge() => RandomNumberGenerator.GetBytes(ChallengeLength);

    /// <summary>Builds a PING request carrying a fresh challenge.</summary>
    /// <returns>An envelope with only its body set.</returns>
    public static Envelope NewPing() => new() { Ping = new PingRequest { Challenge = UnsafeByteOperations.UnsafeWrap(NewChallenge()) } };

    /// <summary>Signs the proof for <paramref name="challenge"/> from <paramref name="verifier"/>.</summary>
    /// <param name="identity">The prover's key pair.</param>
    /// <param name="challenge">The challenge the PING carried, 16 bytes.</param>
    /// <param name="verifier">The node ID the PING claimed.</param>
    /// <returns>A 64-byte Ed25519 signature.</returns>
    /// <exception cref="ArgumentException"><paramref name="challenge"/> is not 16 bytes.</exception>
    public static byte[] Sign(NodeIdentity identity, ReadOnlySpan<byte> challenge, NodeId verifier)
    {
        Span<byte> message = stackalloc byte[MessageLength];
        Write(message, challenge, verifier);
        return identity.Sign(message);
    }

    /// <summary>Checks a proof: SHA-256 of <paramref name="publicKey"/> is <paramref name="claimed"/> and the signature verifies.</summary>
    /// <param name="claimed">The node ID the PONG claims.</param>
    /// <param name="publicKey">The key the PONG carries (32 bytes when well formed).</param>
    /// <param name="signature">The signature the PONG carries (64 bytes when well formed).</param>
    /// <param name="challenge">The challenge our PING carried, 16 bytes.</param>
    /// <param name="verifier">This node's ID.</param>
    /// <returns>True only for a key that hashes to <paramref name="claimed"/> and a valid signature; never throws on malformed input.</returns>
    public static bool Verify(NodeId claimed, ReadOnlySpan<byte> publicKey, ReadOnlySpan<byte> signature, ReadOnlySpan<byte> challenge, NodeId verifier)
    {
        if (publicKey.Length != NodeIdentity.PublicKeyLength || challenge.Length != ChallengeLength || NodeId.HashOf(publicKey) != claimed)
        {
            return false;
        }

        Span<byte> message = stackalloc byte[MessageLength];
        Write(message, challenge, verifier);
        return NodeIdentity.Verify(publicKey, message, signature);
    }

    /// <summary>Length of the signed message: 17 + 16 + 32 = 65 bytes.</summary>
    private static int MessageLength => Domain.Length + ChallengeLength + NodeId.Length;

    private static void Write(Span<byte> message, ReadOnlySpan<byte> challenge, NodeId verifier)
    {
        if (challenge.Length != ChallengeLength)
        {
            throw new ArgumentException($"A challenge is {ChallengeLength} bytes; got {challenge.Length}.", nameof(challenge));
        }

        Domain.CopyTo(message);
        challenge.CopyTo(message[Domain.Length..]);
        verifier.ToArray().CopyTo(message[(Domain.Length + ChallengeLength)..]);
    }
}
