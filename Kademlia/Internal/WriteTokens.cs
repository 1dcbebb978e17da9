using System.Buffers.Binary;
using System.Net;
using System.Security.Cryptography;

namespace Overlay.Kademlia.Internal;

/// <summary>
/// Write tokens (BEP 5 "announce_peer" tokens, BEP 44 "put" tokens): a node hands a requester a token bound to the
/// requester's address in a lookup answer, and accepts STORE / ADD_PROVIDER only with a token it issued to that same
/// address within the last two rotations. This proves the writer can receive at the address it claims (no blind
/// spoofing of source addresses). Token = first 8 bytes of HMAC-SHA256(secret, address bytes ‖ port, big-endian);
/// the secret rotates every <see cref="RotationInterval"/>. Thread-safe (lock).
/// </summary>
internal sealed class WriteTokens
{
    /// <summary>Token length, bytes.</summary>
    public const int Length = 8;

    /// <summary>How often the secret changes (BEP 5: every five minutes; tokens stay valid for ten).</summary>
    public static readonly TimeSpan RotationInterval = TimeSpan.FromMinutes(5);

    private readonly object _gate = new();
    private readonly TimeProvider _time;
    private readonly Func<byte[]> _newSecret;
    private byte[] _current;
    private byte[] _previous;
    private DateTimeOffset _rotatedAt;

    public WriteTokens(TimeProvider time, Func<byte[]> newSecret)
    {
        _time = time;
        _newSecret = newSecret;
        _current = newSecret();
        _previous = newSecret();
        _rotatedAt = time.GetUtcNow();
    }

    public byte[] Issue(IPEndPoint requester)
    {
        lock (_gate)
        {
            Rotate();
            return Compute(_current, requester);
        }
    }

    public bool Validate(IPEndPoint requester, ReadOnlySpan<byte> token)
    {
        if (token.Length != Length)
        {
            return false;
        }

        lock (_gate)
        {
            Rotate();
            return CryptographicOperations.FixedTimeEquals(Compute(_current, requester), token)
                || CryptographicOperations.FixedTimeEquals(Compute(_previous, requester), token);
        }
    }

    private void Rotate()
    {
        var now = _time.GetUtcNow();
        if (now - _rotatedAt < RotationInterval)
        {
            return;
        }

        // Rotations follow a fixed schedule (every RotationInterval since construction), not the moment a token
        // happens to be checked, so a token lives at most two intervals however idle the node was. After two or more
        // missed rotations both secrets are stale: replace both so no old token survives.
        var missed = (now - _rotatedAt).Ticks / RotationInterval.Ticks;
        _previous = missed == 1 ? _current : _newSecret();
        _current = _newSecret();
        _rotatedAt += RotationInterval * missed;
    }

    private static byte[] Compute(byte[] secret, IPEndPoint requester)
    {
        Span<byte> input = stackalloc byte[18];
        requester.Address.TryWriteBytes(input, out var written);
        BinaryPrimitives.WriteUInt16BigEndian(input[written..], (ushort)requester.Port);
        Span<byte> mac = stackalloc byte[32];
        HMACSHA256.HashData(secret, input[..(written + 2)], mac);
        return mac[..Length].ToArray();
    }
}
