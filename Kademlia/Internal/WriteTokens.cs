using System.Buffers.Binary;
using System.Net;
using System.Security.Cryptography;

namespace Overlay.Kademlia.Internal;

/// <summary>
/// Address-bound tokens. A node runs two instances with independent secrets: write tokens (BEP 5 "announce_peer"
/// tokens, BEP 44 "put" tokens: STORE / ADD_PROVIDER are accepted only with a token issued to the writer's address) and
/// address tokens (the 3x rule, RFC 9000 §8.1: a request echoing one is answered in full). Either proves the holder
/// received at the address it claims within the last two rotations (no blind spoofing of source addresses).
/// Token = first 8 bytes of HMAC-SHA256(secret, address bytes ‖ port, big-endian); the secret rotates every
/// <see cref="RotationInterval"/>, so a token stays valid at least one interval after it is issued and at most two.
/// Thread-safe (lock).
/// </summary>
internal sealed class WriteTokens
{
    /// <summary>Token length, bytes.</summary>
    public const int Length = 8;

    /// <summary>How often the secret changes (BEP 5: every five minutes; tokens stay valid for ten).</summary>
    public static readonly TimeSpan RotationInterval = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Most current-secret tokens remembered per endpoint: 64 (~50 bytes each, with the dictionary's slack). An HMAC
    /// through OpenSSL cost ~1.3 µs per request on the answer path (one node answering FIND_NODE went from 3.8 to 5.3 µs
    /// per answer); a peer that keeps asking costs a dictionary lookup instead. Past the cap, tokens are computed each
    /// time; the memo is emptied at every rotation. It serves the few peers that ask most (the first 64 of each
    /// rotation), not every peer: a node of a 1,000-node swarm hears from most of the others, and a memo per peer would
    /// cost it more memory than its routing table.
    /// </summary>
    private const int MemoCapacity = 64;

    private readonly object _gate = new();
    private readonly TimeProvider _time;
    private readonly Func<byte[]> _newSecret;
    private byte[] _current;
    private byte[] _previous;
    private DateTimeOffset _rotatedAt;
    private readonly Dictionary<EndPointKey, ulong> _memo = [];

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
        var token = new byte[Length];
        lock (_gate)
        {
            Rotate();
            BinaryPrimitives.WriteUInt64LittleEndian(token, Current(requester));
        }

        return token;
    }

    public bool Validate(IPEndPoint requester, ReadOnlySpan<byte> token)
    {
        if (token.Length != Length)
        {
            return false;
        }

        Span<byte> current = stackalloc byte[Length];
        lock (_gate)
        {
            Rotate();
            BinaryPrimitives.WriteUInt64LittleEndian(current, Current(requester));
            return CryptographicOperations.FixedTimeEquals(current, token)
                || CryptographicOperations.FixedTimeEquals(Compute(_previous, requester), token);
        }
    }

    /// <summary>
    /// Writes the current token for <paramref name="requester"/> into <paramref name="token"/> and checks
    /// <paramref name="presented"/> against the current and previous secrets, with one HMAC when the presented token is
    /// the current one or empty (the common cases on the answer path), two otherwise; none when the current token for
    /// <paramref name="requester"/> is remembered (a peer that keeps asking).
    /// </summary>
    /// <param name="requester">The requester's endpoint (normalized).</param>
    /// <param name="presented">The token the request echoed; any length (only 8 bytes can be valid).</param>
    /// <param name="token">Receives the 8-byte token to hand out.</param>
    /// <returns>Whether <paramref name="presented"/> is a token issued to <paramref name="requester"/> within the last two rotations.</returns>
    public bool IssueAndCheck(IPEndPoint requester, ReadOnlySpan<byte> presented, Span<byte> token)
    {
        lock (_gate)
        {
            Rotate();
            BinaryPrimitives.WriteUInt64LittleEndian(token, Current(requester));
            if (presented.Length != Length)
            {
                return false;
            }

            if (CryptographicOperations.FixedTimeEquals(token[..Length], presented))
            {
                return true;
            }

            Span<byte> previous = stackalloc byte[Length];
            Compute(_previous, requester, previous);
            return CryptographicOperations.FixedTimeEquals(previous, presented);
        }
    }

    /// <summary>Returns the current secret's token for <paramref name="requester"/>, from the memo when there; caller holds the lock.</summary>
    private ulong Current(IPEndPoint requester)
    {
        var key = EndPointKey.Of(requester);
        if (_memo.TryGetValue(key, out var token))
        {
            return token;
        }

        Span<byte> bytes = stackalloc byte[Length];
        Compute(_current, requester, bytes);
        token = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        if (_memo.Count < MemoCapacity)
        {
            _memo[key] = token;
        }

        return token;
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
        _memo.Clear();
        _rotatedAt += RotationInterval * missed;
    }

    private static byte[] Compute(byte[] secret, IPEndPoint requester)
    {
        var token = new byte[Length];
        Compute(secret, requester, token);
        return token;
    }

    private static void Compute(byte[] secret, IPEndPoint requester, Span<byte> token)
    {
        Span<byte> input = stackalloc byte[18];
        requester.Address.TryWriteBytes(input, out var written);
        BinaryPrimitives.WriteUInt16BigEndian(input[written..], (ushort)requester.Port);
        Span<byte> mac = stackalloc byte[32];
        HMACSHA256.HashData(secret, input[..(written + 2)], mac);
        mac[..Length].CopyTo(token);
    }
}
