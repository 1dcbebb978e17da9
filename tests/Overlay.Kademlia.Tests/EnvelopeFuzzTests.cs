using System.Net;
using Google.Protobuf;
using Overlay.Kademlia.Internal;
using Overlay.Kademlia.Wire;
using Xunit.Abstractions;
using WireRecord = Overlay.Kademlia.Wire.Record;

namespace Overlay.Kademlia.Tests;

/// <summary>
/// Mutation fuzzing of the datagram decoder. The node's receive loop relies on this contract: for any bytes,
/// <c>Envelope.Parser.ParseFrom</c> either returns a message or throws <see cref="InvalidProtocolBufferException"/>,
/// nothing else; and the codec's Try methods and record verification never throw on whatever it returns.
/// </summary>
public sealed class EnvelopeFuzzTests(ITestOutputHelper output)
{
    private const int Seed = 31337;
    private const int Iterations = 100_000;
    private static readonly DateTimeOffset Now = new(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void ParseFrom_OnlyEverThrowsInvalidProtocolBufferException()
    {
        var samples = ValidEnvelopes().Select(e => e.ToByteArray()).ToList();
        Assert.All(samples, s => Assert.True(s.Length <= KademliaOptions.MaxDatagramBytes, $"sample of {s.Length} bytes exceeds a datagram"));

        var random = new Random(Seed);
        int parsed = 0, rejected = 0, verified = 0;
        var bodies = new HashSet<Envelope.BodyOneofCase>();
        for (var iteration = 0; iteration < Iterations; iteration++)
        {
            var input = random.Next(10) == 0 ? RandomBytes(random) : Mutate(samples[random.Next(samples.Count)], samples, random);
            try
            {
                var envelope = Envelope.Parser.ParseFrom(input);
                parsed++;
                bodies.Add(envelope.BodyCase);
                verified += Exercise(envelope, verify: iteration % 4 == 0);
            }
            catch (InvalidProtocolBufferException)
            {
                rejected++;
            }
            catch (Exception ex)
            {
                Assert.Fail($"seed {Seed} iteration {iteration}: {ex.GetType().Name}: {ex.Message}; input {Convert.ToHexString(input)}");
            }
        }

        output.WriteLine($"seed {Seed}: {Iterations} inputs, {parsed} parsed ({bodies.Count} body cases), {rejected} rejected, {verified} signatures checked");
        Assert.Equal(Iterations, parsed + rejected);
        Assert.True(parsed > Iterations / 10, $"only {parsed} inputs parsed");
        Assert.True(rejected > Iterations / 10, $"only {rejected} inputs rejected");
        Assert.True(bodies.Count == 13, $"only {bodies.Count} body cases seen among parsed inputs");
        Assert.True(verified > 100, $"only {verified} mutable records reached signature verification");
    }

    [Fact]
    public void ValidEnvelopes_RoundTrip()
    {
        foreach (var envelope in ValidEnvelopes())
        {
            var back = Envelope.Parser.ParseFrom(envelope.ToByteArray());
            Assert.Equal(envelope, back);
            Assert.Equal(WireCodec.ProtocolVersion, back.Version);
        }
    }

    /// <summary>Runs everything the node does with a decoded envelope's untrusted fields; returns how many signatures were checked.</summary>
    private static int Exercise(Envelope envelope, bool verify)
    {
        NodeId.TryFromBytes(envelope.SenderId.Span, out _);
        _ = envelope.ToByteArray();
        var verified = 0;
        switch (envelope.BodyCase)
        {
            case Envelope.BodyOneofCase.Pong:
                WireCodec.TryEndPoint(envelope.Pong.ObservedIp, envelope.Pong.ObservedPort, out _);
                break;
            case Envelope.BodyOneofCase.FindNode:
                NodeId.TryFromBytes(envelope.FindNode.Target.Span, out _);
                break;
            case Envelope.BodyOneofCase.Nodes:
                WireCodec.FromContacts(envelope.Nodes.Closer);
                break;
            case Envelope.BodyOneofCase.Value:
                WireCodec.FromContacts(envelope.Value.Closer);
                verified += CheckRecord(envelope.Value.Record, verify);
                break;
            case Envelope.BodyOneofCase.Store:
                NodeId.TryFromBytes(envelope.Store.Key.Span, out _);
                verified += CheckRecord(envelope.Store.Record, verify);
                break;
            case Envelope.BodyOneofCase.Providers:
                WireCodec.FromContacts(envelope.Providers.Closer);
                foreach (var provider in envelope.Providers.Providers)
                {
                    NodeId.TryFromBytes(provider.Id.Span, out _);
                    WireCodec.TryEndPoint(provider.Ip, provider.Port, out _);
                }

                break;
        }

        return verified;
    }

    private static int CheckRecord(WireRecord? wire, bool verify)
    {
        // Use the key the record claims, so that mutated records reach signature verification.
        var key = wire is null ? default : DhtRecord.MutableKey(wire.PublicKey.Span, wire.Salt.Span);
        var record = WireCodec.FromWire(key, wire, Now, TimeSpan.FromHours(48));
        if (record is null || !verify)
        {
            return 0;
        }

        var check = record.Verify(KademliaOptions.DefaultMaxValueBytes);
        Assert.True(Enum.IsDefined(check));
        return record.IsMutable && record.PublicKey.Length == 32 && record.Salt.Length <= 64 ? 1 : 0;
    }

    private static byte[] RandomBytes(Random random)
    {
        var bytes = new byte[random.Next(0, 300)];
        random.NextBytes(bytes);
        return bytes;
    }

    private static byte[] Mutate(byte[] original, List<byte[]> samples, Random random)
    {
        var bytes = new List<byte>(original);
        var edits = random.Next(1, 3);
        for (var e = 0; e < edits; e++)
        {
            switch (random.Next(7))
            {
                case 0 when bytes.Count > 0:
                    // Flip one to eight bits.
                    for (var f = random.Next(1, 9); f > 0; f--)
                    {
                        var at = random.Next(bytes.Count);
                        bytes[at] ^= (byte)(1 << random.Next(8));
                    }

                    break;
                case 1 when bytes.Count > 0:
                    // Truncate.
                    var keep = random.Next(bytes.Count);
                    bytes.RemoveRange(keep, bytes.Count - keep);
                    break;
                case 2:
                    // Extend with random bytes.
                    var tail = new byte[random.Next(1, 40)];
                    random.NextBytes(tail);
                    bytes.AddRange(tail);
                    break;
                case 3 when bytes.Count > 0:
                    // Overwrite one byte with a value likely to be a tag, a length or a varint continuation.
                    byte[] interesting = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x0a, 0x12, 0x1a, 0x22, 0x08];
                    bytes[random.Next(bytes.Count)] = interesting[random.Next(interesting.Length)];
                    break;
                case 4 when bytes.Count > 0:
                    // Delete a slice.
                    var start = random.Next(bytes.Count);
                    bytes.RemoveRange(start, random.Next(1, Math.Min(16, bytes.Count - start) + 1));
                    break;
                case 5:
                    // Insert random bytes in the middle.
                    var chunk = new byte[random.Next(1, 12)];
                    random.NextBytes(chunk);
                    bytes.InsertRange(random.Next(bytes.Count + 1), chunk);
                    break;
                case 6:
                    // Splice the tail of another valid envelope onto a prefix of this one.
                    var other = samples[random.Next(samples.Count)];
                    var cut = random.Next(bytes.Count + 1);
                    bytes = bytes.Take(cut).Concat(other.Skip(random.Next(other.Length + 1))).ToList();
                    break;
            }
        }

        return [.. bytes];
    }

    /// <summary>One valid envelope per body type, with every field populated.</summary>
    private static List<Envelope> ValidEnvelopes()
    {
        var random = new Random(Seed);
        var publisher = DhtRecordTests.Identity(41);
        ByteString Id() => WireCodec.ToBytes(NodeId.Random(random));
        ByteString Token() => ByteString.CopyFrom([.. Enumerable.Range(0, 8).Select(_ => (byte)random.Next(256))]);
        Contact[] Contacts(int n) => [.. Enumerable.Range(0, n).Select(i => WireCodec.ToContact(new NodeContact(
            NodeId.Random(random),
            i % 3 == 0 ? new IPEndPoint(IPAddress.Parse($"2001:db8::{i + 1}"), 4000 + i) : new IPEndPoint(IPAddress.Parse($"192.0.2.{i + 1}"), 4000 + i))))];
        var mutable = WireCodec.ToWire(DhtRecord.CreateMutable(publisher, "salt"u8, "mutable value"u8, 42, Now.AddHours(1)), Now);
        var immutable = WireCodec.ToWire(DhtRecord.CreateImmutable("immutable value"u8, Now.AddHours(1)), Now);

        Envelope Make(Action<Envelope> body)
        {
            var envelope = new Envelope { Version = WireCodec.ProtocolVersion, TransactionId = (uint)random.Next(), SenderId = Id() };
            body(envelope);
            return envelope;
        }

        return
        [
            Make(_ => { }),
            Make(e => e.Ping = new PingRequest()),
            Make(e => e.Pong = new PingResponse { ObservedIp = ByteString.CopyFrom(192, 0, 2, 200), ObservedPort = 40000 }),
            Make(e => e.FindNode = new FindNodeRequest { Target = Id(), WantToken = true }),
            Make(e => e.Nodes = new NodesResponse { Closer = { Contacts(20) }, Token = Token() }),
            Make(e => e.FindValue = new FindValueRequest { Key = Id() }),
            Make(e => e.Value = new ValueResponse { Record = mutable, Closer = { Contacts(4) }, Token = Token() }),
            Make(e => e.Value = new ValueResponse { Record = immutable }),
            Make(e => e.Store = new StoreRequest { Key = Id(), Record = mutable, Token = Token() }),
            Make(e => e.Stored = new StoreResponse { Status = StoreStatus.StaleSequence }),
            Make(e => e.AddProvider = new AddProviderRequest { Key = Id(), Token = Token(), TtlSeconds = 86400 }),
            Make(e => e.ProviderAdded = new StoreResponse { Status = StoreStatus.Ok }),
            Make(e => e.GetProviders = new GetProvidersRequest { Key = Id() }),
            Make(e => e.Providers = new ProvidersResponse
            {
                Providers = { new Provider { Id = Id(), Ip = ByteString.CopyFrom(192, 0, 2, 9), Port = 4001, TtlSeconds = 3600 } },
                Closer = { Contacts(6) },
                Token = Token(),
            }),
        ];
    }
}
