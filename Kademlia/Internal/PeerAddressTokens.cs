using System.Buffers.Binary;
using System.Net;

namespace Overlay.Kademlia.Internal;

/// <summary>
/// The address tokens other nodes handed this node (the requester side of the 3x rule, ARCHITECTURE.md "Address
/// validation"): by the endpoint that issued each, the newest token and when it arrived. A request to a node whose
/// token is younger than <see cref="UseWindow"/> echoes it and is answered in full; without one, a request whose
/// answer may be large is padded to <see cref="WireCodec.PaddedRequestBytes"/> instead. Holds at most
/// <see cref="Capacity"/> endpoints; when full, tokens too old to echo are dropped, and if none was, all are (each
/// forgotten token costs one padded request). Thread-safe (lock).
/// </summary>
internal sealed class PeerAddressTokens
{
    /// <summary>
    /// Most endpoints held: 256 (~60 bytes each with the dictionary's slack), a routing table's worth of
    /// peers (a 1,000-node swarm's tables hold ~130 contacts); a peer forgotten costs one padded request. 1,024 cost a
    /// 1,000-node loopback swarm ~70 KiB per node once each node had heard from most of the others.
    /// </summary>
    public const int Capacity = 256;

    /// <summary>
    /// How long after it arrived a token is echoed: 4 min. An issuer's token stays valid at least one rotation
    /// (<see cref="WriteTokens.RotationInterval"/>, 5 min) after it was issued; the minute left covers the path delay
    /// and the two clocks' drift, since echoing a token the issuer no longer accepts gets a trimmed answer.
    /// </summary>
    public static readonly TimeSpan UseWindow = TimeSpan.FromMinutes(4);

    private readonly object _gate = new();
    private readonly Dictionary<EndPointKey, (ulong Token, long ReceivedAt)> _tokens = [];
    private readonly long _useTicks;

    /// <summary>Creates an empty store.</summary>
    /// <param name="timestampFrequency">Ticks per second of the timestamps passed in (<see cref="TimeProvider.TimestampFrequency"/>).</param>
    public PeerAddressTokens(long timestampFrequency)
    {
        _useTicks = (long)(UseWindow.TotalSeconds * timestampFrequency);
    }

    /// <summary>Keeps <paramref name="token"/>, which <paramref name="issuer"/> handed us, when it is 8 bytes long; other lengths are ignored.</summary>
    /// <param name="issuer">The endpoint the answer came from (normalized).</param>
    /// <param name="token">The answer's address token.</param>
    /// <param name="now">Monotonic timestamp.</param>
    public void Remember(IPEndPoint issuer, ReadOnlySpan<byte> token, long now)
    {
        if (token.Length != WriteTokens.Length)
        {
            return;
        }

        var key = EndPointKey.Of(issuer);
        var value = (BinaryPrimitives.ReadUInt64LittleEndian(token), now);
        lock (_gate)
        {
            if (_tokens.Count >= Capacity && !_tokens.ContainsKey(key))
            {
                foreach (var (held, kept) in _tokens)
                {
                    if (now - kept.ReceivedAt >= _useTicks)
                    {
                        _tokens.Remove(held);
                    }
                }

                if (_tokens.Count >= Capacity)
                {
                    _tokens.Clear();
                }
            }

            _tokens[key] = value;
        }
    }

    /// <summary>Writes the token <paramref name="issuer"/> handed us into <paramref name="token"/> when one younger than <see cref="UseWindow"/> is held.</summary>
    /// <param name="issuer">The destination of a request (normalized).</param>
    /// <param name="now">Monotonic timestamp.</param>
    /// <param name="token">Receives the 8-byte token.</param>
    /// <returns>Whether a usable token was written.</returns>
    public bool TryGet(IPEndPoint issuer, long now, Span<byte> token)
    {
        (ulong Token, long ReceivedAt) held;
        lock (_gate)
        {
            if (!_tokens.TryGetValue(EndPointKey.Of(issuer), out held))
            {
                return false;
            }
        }

        if (now - held.ReceivedAt >= _useTicks)
        {
            return false;
        }

        BinaryPrimitives.WriteUInt64LittleEndian(token, held.Token);
        return true;
    }
}
