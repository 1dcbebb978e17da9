using System.Net;
using Google.Protobuf;
using Overlay.Kademlia.Internal;
using Overlay.Kademlia.Wire;

namespace Overlay.Kademlia.Tests;

/// <summary>
/// <see cref="NodesAnswer"/> against Google.Protobuf: for seeded random answers (0-30 contacts, IPv4 and IPv6, with
/// and without a write token and an address token, transaction id 0 and others, roomy and tight buffers) the hand-written bytes equal the
/// generated code's encoding of the same envelope, trimmed of its farthest contacts to fit the same way.
/// </summary>
public sealed class NodesAnswerTests
{
    [Fact]
    public void Write_EqualsGoogleProtobufEncoding_For2000SeededRandomAnswers()
    {
        var random = new Random(31);
        var trimmed = 0;
        for (var round = 0; round < 2000; round++)
        {
            var entries = Enumerable.Range(0, random.Next(31)).Select(_ => RandomEntry(random)).ToList();
            var sender = RandomBytes(random, NodeId.Length);
            var token = random.Next(2) == 0 ? [] : RandomBytes(random, WriteTokens.Length);
            var addressToken = random.Next(3) == 0 ? [] : RandomBytes(random, WriteTokens.Length);
            var transactionId = random.Next(4) == 0 ? 0u : (uint)random.NextInt64(1, 1L << 32);
            var capacity = random.Next(3) == 0 ? random.Next(120, 1232) : KademliaOptions.MaxDatagramBytes;

            var buffer = new byte[capacity];
            var written = NodesAnswer.Write(buffer, transactionId, sender, addressToken, entries, token, out var contacts);

            var reference = Reference(transactionId, sender, addressToken, entries, token, capacity);
            Assert.Equal(reference, buffer[..written]);
            Assert.Equal(Envelope.Parser.ParseFrom(reference).Nodes.Closer.Count, contacts);
            trimmed += contacts < entries.Count ? 1 : 0;
        }

        // The trimming branch was exercised, not only the roomy case.
        Assert.InRange(trimmed, 100, 2000);
    }

    [Fact]
    public void Write_TwentyIpv4Contacts_DecodesToThoseContactsInOrder()
    {
        var random = new Random(5);
        var entries = Enumerable.Range(0, 20).Select(i => new RoutingEntry(new NodeContact(NodeId.Random(random), new IPEndPoint(IPAddress.Parse($"10.0.0.{i + 1}"), 4000 + i)))).ToList();
        var buffer = new byte[KademliaOptions.MaxDatagramBytes];
        var written = NodesAnswer.Write(buffer, 77, RandomBytes(random, NodeId.Length), [], entries, [], out _);

        var envelope = Envelope.Parser.ParseFrom(buffer.AsSpan(0, written));
        Assert.Equal(77u, envelope.TransactionId);
        Assert.True(envelope.Nodes.Token.IsEmpty);
        Assert.Equal(entries.Select(e => e.Contact), WireCodec.FromContacts(envelope.Nodes.Closer));
    }

    [Fact]
    public void Write_BufferTooSmallForTheHeader_Throws()
    {
        var buffer = new byte[20];
        Assert.Throws<ArgumentException>(() => NodesAnswer.Write(buffer, 1, new byte[NodeId.Length], [], [], [], out _));
    }

    /// <summary>The same answer through the generated code, trimmed like <c>FitToLimit</c>: farthest contact first.</summary>
    private static byte[] Reference(uint transactionId, byte[] sender, byte[] addressToken, List<RoutingEntry> entries, byte[] token, int capacity)
    {
        var envelope = new Envelope
        {
            Version = WireCodec.ProtocolVersion,
            TransactionId = transactionId,
            SenderId = ByteString.CopyFrom(sender),
            AddressToken = ByteString.CopyFrom(addressToken),
            Nodes = new NodesResponse { Token = ByteString.CopyFrom(token) },
        };
        envelope.Nodes.Closer.AddRange(entries.Select(e => e.Wire));
        while (envelope.CalculateSize() > capacity && envelope.Nodes.Closer.Count > 0)
        {
            envelope.Nodes.Closer.RemoveAt(envelope.Nodes.Closer.Count - 1);
        }

        return envelope.ToByteArray();
    }

    private static RoutingEntry RandomEntry(Random random)
    {
        var address = random.Next(2) == 0 ? new IPAddress(RandomBytes(random, 4)) : new IPAddress(RandomBytes(random, 16));
        return new RoutingEntry(new NodeContact(NodeId.Random(random), new IPEndPoint(address, random.Next(1, 65536))));
    }

    private static byte[] RandomBytes(Random random, int length)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }
}
