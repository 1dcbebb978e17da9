using NSec.Cryptography;

namespace Overlay.Transport.Sessions.Noise;

/// <summary>
/// How two nodes agree on a cipher suite without a round trip and without a silent downgrade: the initiator's first
/// handshake message starts with the set it offers (<see cref="SessionCipherSuites"/>, one byte), the responder's
/// with the one suite it chose from that set and its own, and both sides mix offer and choice into the prologue
/// (<see cref="Prologue"/>) while the choice also names the Noise protocol (<see cref="ProtocolName"/>) that h starts
/// from (Noise rev. 34 §5.2, §6: the prologue authenticates negotiation data). Noise XX's message 1 is only the clear
/// ephemeral key, so the initiator can start its HandshakeState once it has read the choice. A changed offer or choice
/// makes the two sides' h differ and message 2 fails to authenticate. Thread-safe (stateless).
/// </summary>
internal static class CipherSuiteNegotiation
{
    /// <summary>The suites this build implements.</summary>
    public const SessionCipherSuites Known = SessionCipherSuites.ChaChaPoly | SessionCipherSuites.AesGcm;

    /// <summary>Gets the suites this machine offers and accepts by default: ChaChaPoly, and AESGCM when the CPU has
    /// AES instructions (<see cref="Aes256Gcm.IsSupported"/>), so AES-256-GCM is used exactly when both ends have them.</summary>
    public static SessionCipherSuites LocalDefault { get; } =
        SessionCipherSuites.ChaChaPoly | (Aes256Gcm.IsSupported ? SessionCipherSuites.AesGcm : SessionCipherSuites.None);

    /// <summary>The prologue's fixed part: ASCII <c>overlay-session/1</c> (17 bytes).</summary>
    public static ReadOnlySpan<byte> PrologueLabel => "overlay-session/1"u8;

    /// <summary>Returns the Noise protocol name of a suite: <c>Noise_XX_25519_ChaChaPoly_SHA256</c> (32 bytes) or
    /// <c>Noise_XX_25519_AESGCM_SHA256</c> (28 bytes).</summary>
    /// <param name="suite">Exactly one known suite.</param>
    /// <returns>The ASCII name.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="suite"/> is not exactly one known suite.</exception>
    public static string ProtocolName(SessionCipherSuites suite) => suite switch
    {
        SessionCipherSuites.ChaChaPoly => "Noise_XX_25519_ChaChaPoly_SHA256",
        SessionCipherSuites.AesGcm => "Noise_XX_25519_AESGCM_SHA256",
        _ => throw new ArgumentOutOfRangeException(nameof(suite), suite, "one cipher suite: ChaChaPoly or AesGcm"),
    };

    /// <summary>Picks the suite a responder answers an offer with: AESGCM if both sets hold it, else ChaChaPoly if
    /// both do, else none. Reserved bits of the offer are ignored.</summary>
    /// <param name="offer">The initiator's offer, as received.</param>
    /// <param name="local">What this side accepts.</param>
    /// <returns>One suite, or <see cref="SessionCipherSuites.None"/> when there is none in common.</returns>
    public static SessionCipherSuites Choose(SessionCipherSuites offer, SessionCipherSuites local)
    {
        var common = offer & local & Known;
        return (common & SessionCipherSuites.AesGcm) != 0 ? SessionCipherSuites.AesGcm
            : (common & SessionCipherSuites.ChaChaPoly) != 0 ? SessionCipherSuites.ChaChaPoly
            : SessionCipherSuites.None;
    }

    /// <summary>Writes the prologue both sides mix in: <see cref="PrologueLabel"/> || offer byte || chosen byte (19 bytes).</summary>
    /// <param name="offer">The offer byte as the initiator sent it.</param>
    /// <param name="chosen">The responder's choice.</param>
    /// <returns>The prologue.</returns>
    public static byte[] Prologue(SessionCipherSuites offer, SessionCipherSuites chosen) => [.. PrologueLabel, (byte)offer, (byte)chosen];

    /// <summary>Checks a configured set of suites.</summary>
    /// <param name="suites">The set.</param>
    /// <param name="name">The option's or parameter's name, for the message.</param>
    /// <exception cref="ArgumentException">The set is empty, holds a reserved bit, or holds AESGCM on a CPU without AES
    /// instructions.</exception>
    public static void Validate(SessionCipherSuites suites, string name)
    {
        if (suites == SessionCipherSuites.None || (suites & ~Known) != 0)
        {
            throw new ArgumentException($"{name} is {suites}: it must be a non-empty set of {Known}", name);
        }

        if ((suites & SessionCipherSuites.AesGcm) != 0 && !Aes256Gcm.IsSupported)
        {
            throw new ArgumentException($"{name} holds AesGcm, but this CPU has no AES instructions", name);
        }
    }
}
