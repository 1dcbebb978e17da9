using Google.Protobuf;
using Overlay.Transport.Wire;

namespace Overlay.Transport.Sessions.Noise;

/// <summary>
/// What a node proves itself with in every handshake: an X25519 static key for Noise (made fresh for each process run,
/// never stored) and the handshake payload that binds it to the node's Ed25519 identity, signed once. Making these once
/// per endpoint instead of once per handshake saves a key generation and a signature per handshake. Thread-safe
/// (read-only after construction); dispose to erase the static key.
/// </summary>
internal sealed class SessionCredentials : IDisposable
{
    /// <summary>Creates credentials for <paramref name="identity"/> with a fresh static key.</summary>
    /// <param name="identity">The node's identity.</param>
    public SessionCredentials(NodeIdentity identity)
    {
        ArgumentNullException.ThrowIfNull(identity);
        Identity = identity;
        StaticKey = X25519KeyPair.Generate();
        var staticPublic = StaticKey.PublicKey;
        Payload = new HandshakePayload
        {
            Version = 1,
            IdentityKey = ByteString.CopyFrom(identity.PublicKey.Span),
            IdentitySig = ByteString.CopyFrom(identity.Sign([.. SecureHandshake.SignaturePrefix, .. staticPublic])),
            Muxers = { SecureHandshake.Muxer },
        }.ToByteArray();
    }

    /// <summary>Gets the node's identity.</summary>
    public NodeIdentity Identity { get; }

    /// <summary>Gets the X25519 static key pair, made once and used by every handshake.</summary>
    public X25519KeyPair StaticKey { get; }

    /// <summary>Gets the encoded handshake payload (about 110 bytes).</summary>
    public byte[] Payload { get; }

    /// <summary>Erases the static key.</summary>
    public void Dispose() => StaticKey.Dispose();
}
