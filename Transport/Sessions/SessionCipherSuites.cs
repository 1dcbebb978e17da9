namespace Overlay.Transport.Sessions;

/// <summary>
/// The Noise cipher functions a session may run under, as a set of flags whose byte is the wire value: an initiator
/// sends the set it offers, a responder answers with exactly one flag, the suite it chose (ARCHITECTURE.md, "Secure
/// sessions"). Every suite is <c>Noise_XX_25519_&lt;cipher&gt;_SHA256</c> (Noise rev. 34 §8); bits 2..7 are reserved
/// and a responder ignores them, so a later version can offer more without breaking this one.
/// </summary>
[Flags]
public enum SessionCipherSuites : byte
{
    /// <summary>No suite.</summary>
    None = 0,

    /// <summary>ChaChaPoly (Noise §12.3): ChaCha20-Poly1305 (RFC 8439), nonce = 4 zero bytes || 64-bit counter little
    /// endian. Every node supports it.</summary>
    ChaChaPoly = 0x01,

    /// <summary>AESGCM (Noise §12.4): AES-256-GCM, nonce = 4 zero bytes || 64-bit counter big endian. Offered and chosen
    /// only where the CPU has AES instructions (<see cref="NSec.Cryptography.Aes256Gcm.IsSupported"/>).</summary>
    AesGcm = 0x02,
}
