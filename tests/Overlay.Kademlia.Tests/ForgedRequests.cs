using Google.Protobuf;
using Overlay.Kademlia.Internal;
using Overlay.Kademlia.Wire;

namespace Overlay.Kademlia.Tests;

/// <summary>
/// Requests a flood is made of, each under a fresh sender ID (so that each is worth a verification PING): FIND_NODE
/// bare (with a write token asked) or padded as a first contact's, FIND_VALUE for a given key, GET_PROVIDERS, a
/// challenge PING, or FIND_NODE echoing a made-up address token. Drawn from a seeded <see cref="Random"/>.
/// </summary>
internal static class ForgedRequests
{
    /// <summary>Draws the next request.</summary>
    /// <param name="random">The seeded draw.</param>
    /// <param name="valueKey">The key FIND_VALUE asks for (a stored record's, so that answers can carry it).</param>
    /// <param name="transactionId">The transaction id; 0 is sent as 1.</param>
    /// <returns>The encoded envelope.</returns>
    public static byte[] Next(Random random, NodeId valueKey, uint transactionId)
    {
        var request = new Envelope
        {
            Version = WireCodec.ProtocolVersion,
            TransactionId = Math.Max(1, transactionId),
            SenderId = ByteString.CopyFrom(NodeId.Random(random).ToArray()),
        };
        var target = ByteString.CopyFrom(NodeId.Random(random).ToArray());
        switch (random.Next(6))
        {
            case 0:
                request.FindNode = new FindNodeRequest { Target = target, WantToken = true };
                break;
            case 1:
                request.FindNode = new FindNodeRequest { Target = target };
                WireCodec.Pad(request);
                break;
            case 2:
                request.FindValue = new FindValueRequest { Key = ByteString.CopyFrom(valueKey.ToArray()) };
                break;
            case 3:
                request.GetProviders = new GetProvidersRequest { Key = target };
                break;
            case 4:
                request.Ping = new PingRequest { Challenge = ByteString.CopyFrom(IdentityProof.NewChallenge()) };
                break;
            default:
                request.FindNode = new FindNodeRequest { Target = target };
                request.AddressToken = ByteString.CopyFrom(BitConverter.GetBytes(random.NextInt64()));
                break;
        }

        return request.ToByteArray();
    }
}
