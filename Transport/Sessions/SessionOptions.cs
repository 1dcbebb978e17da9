namespace Overlay.Transport.Sessions;

/// <summary>Timers and caps of UDP sessions (<see cref="UdpSessionEndpoint"/>). Defaults follow WireGuard's timers
/// (whitepaper §6.1) where it has one.</summary>
public sealed class SessionOptions
{
    /// <summary>Gets or sets the time between handshake initiations while waiting for a response: default 1 s.</summary>
    public TimeSpan HandshakeRetry { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Gets or sets how many initiations are sent before giving up: default 5.</summary>
    public int HandshakeAttempts { get; set; } = 5;

    /// <summary>Gets or sets the longest silence on the sending side before a keepalive (an empty data packet) is sent,
    /// so NAT bindings stay open: default 15 s (NAT UDP bindings last at least 2 min by RFC 4787 REQ-5, often 30 s).</summary>
    public TimeSpan KeepaliveInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Gets or sets how long a session lives without any authenticated packet before it is lost: default 45 s
    /// (three keepalive intervals).</summary>
    public TimeSpan DeadAfter { get; set; } = TimeSpan.FromSeconds(45);

    /// <summary>Gets or sets how long a sender uses one key before it moves to the next key phase: default 2 min
    /// (WireGuard's Rekey-After-Time).</summary>
    public TimeSpan RekeyAfterTime { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Gets or sets how many bytes a sender encrypts under one key before it moves to the next key phase:
    /// default 1 GiB.</summary>
    public long RekeyAfterBytes { get; set; } = 1L << 30;

    /// <summary>Gets or sets how many responder handshakes may be pending before initiations must echo a cookie: default 64.</summary>
    public int CookieThreshold { get; set; } = 64;

    /// <summary>Gets or sets the most responder handshakes pending at once; beyond, initiations are dropped: default 1,024.</summary>
    public int MaxPendingHandshakes { get; set; } = 1024;

    /// <summary>Gets or sets the most established sessions: default 4,096.</summary>
    public int MaxSessions { get; set; } = 4096;

    /// <summary>Gets or sets the cipher suites this side offers when it dials and accepts when it answers: default
    /// ChaChaPoly, plus AesGcm when the CPU has AES instructions (<see cref="NSec.Cryptography.Aes256Gcm.IsSupported"/>),
    /// so two such nodes run AES-256-GCM and any other pair ChaCha20-Poly1305. Non-empty, no reserved bits, AesGcm only
    /// with AES instructions; checked when the endpoint is made.</summary>
    public SessionCipherSuites CipherSuites { get; set; } = Noise.CipherSuiteNegotiation.LocalDefault;
}
