using System.Buffers.Binary;
using System.Net;
using System.Security.Cryptography;
using NSec.Cryptography;

namespace Overlay.Transport.Sessions;

/// <summary>
/// Stateless handshake cookies, as WireGuard (whitepaper §5.4.7) and QUIC Retry (RFC 9000 §8.1.2) use them: under load,
/// a responder answers a handshake initiation with a cookie instead of keeping state, and keeps state only for an
/// initiation that echoes a valid cookie, which proves the initiator receives at its source address. A cookie is
/// BLAKE2b-128 keyed with a random 32-byte secret over the source address (4 or 16 bytes), its port (2 bytes, big
/// endian) and the initiator's 32-byte ephemeral key, so it binds to one initiation attempt. The secret is replaced every
/// <see cref="SecretLifetime"/>; cookies made with the current or the previous secret are accepted, so a cookie lives
/// 2 to 4 minutes. Not thread-safe: the session layer's owner calls it.
/// </summary>
internal sealed class CookieGenerator : IDisposable
{
    /// <summary>Length of a cookie, bytes: 16.</summary>
    public const int CookieLength = 16;

    /// <summary>How long one secret makes cookies: 2 minutes (WireGuard's Cookie-Secret max age, §5.4.7).</summary>
    public static readonly TimeSpan SecretLifetime = TimeSpan.FromMinutes(2);

    private const int EphemeralKeyLength = 32;
    private static readonly MacAlgorithm Mac = MacAlgorithm.Blake2b_128;

    private Key _current;
    private Key? _previous;
    private TimeSpan _rotatedAt;

    /// <summary>Creates a generator with a fresh secret.</summary>
    /// <param name="now">The owner's monotonic time (e.g. <see cref="TimeProvider.GetElapsedTime(long)"/> since start).</param>
    public CookieGenerator(TimeSpan now)
    {
        _current = NewSecret();
        _rotatedAt = now;
    }

    /// <summary>Writes the cookie for an initiation from <paramref name="source"/> carrying <paramref name="ephemeralKey"/>.</summary>
    /// <param name="source">The initiation's source address and port, as received.</param>
    /// <param name="ephemeralKey">The initiator's ephemeral X25519 public key: 32 bytes.</param>
    /// <param name="now">The owner's monotonic time.</param>
    /// <param name="cookie">Receives the cookie: <see cref="CookieLength"/> bytes.</param>
    /// <exception cref="ArgumentException"><paramref name="ephemeralKey"/> is not 32 bytes, or <paramref name="cookie"/> is shorter than 16.</exception>
    public void Create(IPEndPoint source, ReadOnlySpan<byte> ephemeralKey, TimeSpan now, Span<byte> cookie)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (ephemeralKey.Length != EphemeralKeyLength)
        {
            throw new ArgumentException($"an ephemeral key is {EphemeralKeyLength} bytes, not {ephemeralKey.Length}", nameof(ephemeralKey));
        }

        if (cookie.Length < CookieLength)
        {
            throw new ArgumentException($"a cookie needs {CookieLength} bytes", nameof(cookie));
        }

        Rotate(now);
        Compute(_current, source, ephemeralKey, cookie[..CookieLength]);
    }

    /// <summary>Returns whether <paramref name="cookie"/> is one this generator made, with its current or previous secret,
    /// for this source and ephemeral key. Constant time in the cookie's bytes; never throws on untrusted input.</summary>
    /// <param name="source">The echoing initiation's source address and port.</param>
    /// <param name="ephemeralKey">The echoing initiation's ephemeral key (any length; not 32 bytes is invalid).</param>
    /// <param name="cookie">The echoed cookie (any length; not 16 bytes is invalid).</param>
    /// <param name="now">The owner's monotonic time.</param>
    /// <returns>True for a valid cookie.</returns>
    public bool IsValid(IPEndPoint source, ReadOnlySpan<byte> ephemeralKey, ReadOnlySpan<byte> cookie, TimeSpan now)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (ephemeralKey.Length != EphemeralKeyLength || cookie.Length != CookieLength)
        {
            return false;
        }

        Rotate(now);
        Span<byte> expected = stackalloc byte[CookieLength];
        Compute(_current, source, ephemeralKey, expected);
        if (CryptographicOperations.FixedTimeEquals(expected, cookie))
        {
            return true;
        }

        if (_previous is null)
        {
            return false;
        }

        Compute(_previous, source, ephemeralKey, expected);
        return CryptographicOperations.FixedTimeEquals(expected, cookie);
    }

    /// <summary>Destroys both secrets.</summary>
    public void Dispose()
    {
        _current.Dispose();
        _previous?.Dispose();
    }

    private static Key NewSecret() => new(Mac, new KeyCreationParameters { ExportPolicy = KeyExportPolicies.None });

    private static void Compute(Key secret, IPEndPoint source, ReadOnlySpan<byte> ephemeralKey, Span<byte> cookie)
    {
        // address (4 or 16) || port (2) || ephemeral key (32): at most 50 bytes.
        Span<byte> input = stackalloc byte[16 + 2 + EphemeralKeyLength];
        var address = source.Address.IsIPv4MappedToIPv6 ? source.Address.MapToIPv4() : source.Address;
        address.TryWriteBytes(input, out var written);
        BinaryPrimitives.WriteUInt16BigEndian(input[written..], (ushort)source.Port);
        written += 2;
        ephemeralKey.CopyTo(input[written..]);
        written += EphemeralKeyLength;
        Mac.Mac(secret, input[..written], cookie);
    }

    private void Rotate(TimeSpan now)
    {
        if (now - _rotatedAt < SecretLifetime)
        {
            return;
        }

        _previous?.Dispose();

        // After a gap of two lifetimes or more, the old secret is too old to honour.
        if (now - _rotatedAt >= SecretLifetime * 2)
        {
            _current.Dispose();
            _previous = null;
        }
        else
        {
            _previous = _current;
        }

        _current = NewSecret();
        _rotatedAt = now;
    }
}
