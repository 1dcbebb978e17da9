using System.Net;
using BenchmarkDotNet.Attributes;
using Google.Protobuf;
using Overlay.Kademlia;
using Overlay.Kademlia.Internal;
using Overlay.Kademlia.Wire;

namespace Overlay.Bench.Micro;

/// <summary>
/// Envelope encode and decode with Google.Protobuf as KademliaNode does it for every message but the FIND_NODE answer:
/// CalculateSize + WriteTo(Span) into a stack buffer, Envelope.Parser.ParseFrom(ReadOnlySpan). A NodesResponse with 20
/// IPv4 contacts, and a PING; and the same NodesResponse written by <see cref="NodesAnswer"/> from cached contact
/// encodings, as the node answers FIND_NODE.
/// </summary>
[MemoryDiagnoser]
public class EnvelopeBenchmarks
{
    private Envelope _nodes = null!;
    private Envelope _ping = null!;
    private byte[] _nodesBytes = null!;
    private byte[] _pingBytes = null!;
    private List<RoutingEntry> _entries = null!;
    private byte[] _sender = null!;

    /// <summary>Builds the two envelopes from seeded IDs and their encodings.</summary>
    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(3);
        var sender = WireCodec.ToBytes(NodeId.Random(random));
        _sender = sender.ToByteArray();
        _nodes = new Envelope { Version = 1, TransactionId = 0x12345678, SenderId = sender, Nodes = new NodesResponse() };
        _entries = [];
        for (var i = 0; i < 20; i++)
        {
            _entries.Add(new RoutingEntry(new NodeContact(NodeId.Random(random), new IPEndPoint(IPAddress.Loopback, 40000 + i))));
            _nodes.Nodes.Closer.Add(_entries[^1].Wire);
        }

        if (!NodesAnswer.Write(new byte[KademliaOptions.MaxDatagramBytes], 0x12345678, _sender, default, _entries, default, out _).Equals(_nodes.CalculateSize()))
        {
            throw new InvalidOperationException("NodesAnswer and Google.Protobuf disagree on the answer's length.");
        }

        _ping = new Envelope { Version = 1, TransactionId = 0x12345678, SenderId = sender, Ping = new PingRequest() };
        _nodesBytes = _nodes.ToByteArray();
        _pingBytes = _ping.ToByteArray();
    }

    /// <summary>Encodes the 20-contact NodesResponse (about 950 bytes).</summary>
    [Benchmark(Description = "encode NodesResponse(20)")]
    public int EncodeNodes() => Encode(_nodes);

    /// <summary>Writes the same answer with <see cref="NodesAnswer"/> from the entries' cached encodings.</summary>
    [Benchmark(Description = "encode NodesResponse(20), NodesAnswer")]
    public int EncodeNodesCached()
    {
        Span<byte> buffer = stackalloc byte[KademliaOptions.MaxDatagramBytes];
        return NodesAnswer.Write(buffer, 0x12345678, _sender, default, _entries, default, out _);
    }

    /// <summary>Decodes the 20-contact NodesResponse.</summary>
    [Benchmark(Description = "decode NodesResponse(20)")]
    public object DecodeNodes() => Envelope.Parser.ParseFrom((ReadOnlySpan<byte>)_nodesBytes);

    /// <summary>Encodes a PING (43 bytes).</summary>
    [Benchmark(Description = "encode PING")]
    public int EncodePing() => Encode(_ping);

    /// <summary>Decodes a PING.</summary>
    [Benchmark(Description = "decode PING")]
    public object DecodePing() => Envelope.Parser.ParseFrom((ReadOnlySpan<byte>)_pingBytes);

    private static int Encode(Envelope envelope)
    {
        Span<byte> buffer = stackalloc byte[KademliaOptions.MaxDatagramBytes];
        var size = envelope.CalculateSize();
        envelope.WriteTo(buffer[..size]);
        return size;
    }
}
