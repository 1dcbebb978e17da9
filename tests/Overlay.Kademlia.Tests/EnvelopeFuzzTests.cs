using System.Net;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using Overlay.Kademlia.Internal;
using Overlay.Kademlia.Wire;
using Overlay.Testing;
using Xunit.Abstractions;
using WireRecord = Overlay.Kademlia.Wire.Record;

namespace Overlay.Kademlia.Tests;

/// <summary>
/// Mutation fuzzing of the datagram decoder. The node's receive loop relies on this contract: for any bytes,
/// <c>Envelope.Parser.ParseFrom</c> either returns a message or throws <see cref="InvalidProtocolBufferException"/>,
/// nothing else, and it returns one exactly for the bytes an independent reading of the wire format finds well-formed;
/// the codec's Try methods and record verification never throw on whatever it returns; and a node answers each input
/// or drops it for the reason its bytes give.
/// </summary>
public sealed class EnvelopeFuzzTests(ITestOutputHelper output)
{
    private const int Seed = 31337;
    private const int Iterations = 100_000;
    private static readonly DateTimeOffset Now = new(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void ParseFrom_AcceptsExactlyTheWellFormedInputs_OnlyEverThrowsInvalidProtocolBufferException_AndReencodesWhatItAccepts()
    {
        var samples = ValidEnvelopes().Select(e => e.ToByteArray()).ToList();
        Assert.All(samples, s => Assert.True(s.Length <= KademliaOptions.MaxDatagramBytes, $"sample of {s.Length} bytes exceeds a datagram"));
        Assert.All(samples, s => Assert.True(WireModel.IsWellFormed(s), "the wire model rejects a valid envelope"));

        var random = new Random(Seed);
        int parsed = 0, rejected = 0, verified = 0, wellFormed = 0;
        var bodies = new HashSet<Envelope.BodyOneofCase>();
        for (var iteration = 0; iteration < Iterations; iteration++)
        {
            var input = NextInput(random, samples);
            var expected = WireModel.IsWellFormed(input);
            wellFormed += expected ? 1 : 0;
            try
            {
                var envelope = Envelope.Parser.ParseFrom(input);
                parsed++;
                Assert.True(expected, "parsed, but the wire model finds the bytes malformed");

                // What was accepted re-encodes to bytes that parse back to the same value and re-encode identically
                // (unknown fields included), so a node never answers or forwards something other than what it read.
                var encoded = envelope.ToByteArray();
                var again = Envelope.Parser.ParseFrom(encoded);
                Assert.Equal(envelope, again);
                Assert.Equal(encoded, again.ToByteArray());
                bodies.Add(envelope.BodyCase);
                verified += Exercise(envelope, verify: iteration % 4 == 0);
            }
            catch (InvalidProtocolBufferException)
            {
                rejected++;
                Assert.False(expected, $"seed {Seed} iteration {iteration}: rejected, but the wire model finds the bytes well-formed; input {Convert.ToHexString(input)}");
            }
            catch (Exception ex)
            {
                Assert.Fail($"seed {Seed} iteration {iteration}: {ex.GetType().Name}: {ex.Message}; input {Convert.ToHexString(input)}");
            }
        }

        output.WriteLine($"seed {Seed}: {Iterations} inputs, {parsed} parsed ({bodies.Count} body cases), {rejected} rejected, {wellFormed} well-formed by the wire model, {verified} signatures checked");
        Assert.Equal(wellFormed, parsed);
        Assert.True(parsed > Iterations / 10, $"only {parsed} inputs parsed");
        Assert.True(rejected > Iterations / 10, $"only {rejected} inputs rejected");
        Assert.True(bodies.Count == 13, $"only {bodies.Count} body cases seen among parsed inputs");
        Assert.True(verified > 100, $"only {verified} mutable records reached signature verification");
    }

    [Fact]
    public async Task Node_AnswersOrDropsEachFuzzedInput_ForTheReasonItsBytesGive()
    {
        var samples = ValidEnvelopes().Select(e => e.ToByteArray()).ToList();
        var random = new Random(Seed);
        var transport = new RecordingTransport(new IPEndPoint(IPAddress.Loopback, 4000));
        var drops = new DropRecorder();

        // Rate limits off and the clock frozen: every outcome is decided by the bytes alone.
        var options = new KademliaOptions { MaxRequestsPerSecondPerIp = 0, MaxRequestsPerSecond = 0 };
        await using var node = new KademliaNode(DhtRecordTests.Identity(7), transport, options, new ManualTimeProvider(), drops, new Random(Seed));
        node.Start();
        var source = new IPEndPoint(IPAddress.Loopback, 5000);
        var expectedDrops = new Dictionary<string, int>();
        var expectedAnswers = new List<uint>();
        for (var iteration = 0; iteration < Iterations; iteration++)
        {
            var input = NextInput(random, samples);
            if (ExpectedDrop(input, node.Id, out var transactionId) is { } reason)
            {
                expectedDrops[reason] = expectedDrops.GetValueOrDefault(reason) + 1;
            }
            else
            {
                expectedAnswers.Add(transactionId);
            }

            transport.Deliver(source, input);
        }

        var stats = node.GetStatistics();
        output.WriteLine($"seed {Seed}: {expectedAnswers.Count} answered; dropped {string.Join(", ", expectedDrops.OrderBy(d => d.Key).Select(d => $"{d.Key} {d.Value}"))}");
        Assert.Equal(Iterations, stats.DatagramsReceived);
        Assert.Equal(expectedDrops.OrderBy(d => d.Key), drops.Reasons.OrderBy(d => d.Key));
        Assert.Equal(Iterations - expectedAnswers.Count, stats.DatagramsDropped);
        Assert.Equal(expectedAnswers.Count, stats.RequestsServed);

        // One answer per request answered, in order, each echoing its request's transaction id.
        Assert.Equal(expectedAnswers, transport.AnswerTransactionIds(source));
        Assert.True(expectedDrops.Count >= 7, $"only {expectedDrops.Count} drop reasons occurred");
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

    /// <summary>Draws the next fuzz input: one in ten random bytes, else a mutated valid envelope.</summary>
    private static byte[] NextInput(Random random, List<byte[]> samples) =>
        random.Next(10) == 0 ? RandomBytes(random) : Mutate(samples[random.Next(samples.Count)], samples, random);

    /// <summary>
    /// The reason a node must drop <paramref name="input"/> for (the drop reasons of ARCHITECTURE.md and
    /// kademlia.proto's field rules), or null when it must answer it; then <paramref name="transactionId"/> is the id
    /// the answer must echo. Written from the rules, not from the node's code: malformed bytes (by
    /// <see cref="WireModel"/>), another version, a sender ID that is not 32 bytes (or is the node's own), no known
    /// body, an answer to nothing we asked, a FIND_NODE target or a FIND_VALUE / GET_PROVIDERS key not 32 bytes.
    /// </summary>
    private static string? ExpectedDrop(byte[] input, NodeId self, out uint transactionId)
    {
        transactionId = 0;
        if (!WireModel.IsWellFormed(input))
        {
            return "malformed";
        }

        var envelope = Envelope.Parser.ParseFrom(input);
        transactionId = envelope.TransactionId;
        if (envelope.Version != 1)
        {
            return "version";
        }

        if (envelope.SenderId.Length != 32 || envelope.SenderId.Span.SequenceEqual(self.ToArray()))
        {
            return "sender-id";
        }

        return envelope.BodyCase switch
        {
            Envelope.BodyOneofCase.None => "unknown-body",
            Envelope.BodyOneofCase.Pong or Envelope.BodyOneofCase.Nodes or Envelope.BodyOneofCase.Value
                or Envelope.BodyOneofCase.Stored or Envelope.BodyOneofCase.ProviderAdded or Envelope.BodyOneofCase.Providers => "unsolicited",
            Envelope.BodyOneofCase.FindNode when envelope.FindNode.Target.Length != 32 => "bad-target",
            Envelope.BodyOneofCase.FindValue when envelope.FindValue.Key.Length != 32 => "bad-key",
            Envelope.BodyOneofCase.GetProviders when envelope.GetProviders.Key.Length != 32 => "bad-key",
            _ => null,
        };
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
        ByteString Bytes(int n) => ByteString.CopyFrom([.. Enumerable.Range(0, n).Select(_ => (byte)random.Next(256))]);
        ByteString Token() => Bytes(8);
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
            Make(e => e.Ping = new PingRequest { Challenge = Bytes(16) }),
            Make(e => e.Pong = new PingResponse { ObservedIp = ByteString.CopyFrom(192, 0, 2, 200), ObservedPort = 40000 }),
            Make(e => e.Pong = new PingResponse { ObservedIp = ByteString.CopyFrom(192, 0, 2, 200), ObservedPort = 40000, PublicKey = Bytes(32), Signature = Bytes(64) }),
            Make(e =>
            {
                e.AddressToken = Bytes(8);
                e.FindNode = new FindNodeRequest { Target = Id() };
            }),
            Make(e =>
            {
                e.FindNode = new FindNodeRequest { Target = Id() };
                e.Padding = ByteString.CopyFrom(new byte[330]);
            }),
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

    /// <summary>
    /// An independent reading of the protobuf wire format (protobuf.dev, "Encoding") for kademlia.proto's Envelope,
    /// to say which bytes a conforming parser must accept: tags are varints with a field number above zero; varints
    /// take at most 10 bytes; lengths are non-negative 32-bit values that fit the enclosing message; fixed fields
    /// need 4 or 8 bytes; a group (an unknown field here) ends with the end tag of its own number, and an end tag
    /// elsewhere is an error; wire types 6 and 7 do not exist. Fields of a message type are read as messages (nested
    /// at most 100 deep, Google.Protobuf's default recursion limit); every other field is only skipped, since no
    /// scalar field of the schema checks its content (no strings: nothing is checked for UTF-8).
    /// </summary>
    private static class WireModel
    {
        private const int RecursionLimit = 100;

        /// <summary>Message-typed fields by message: field number → type. Messages not listed have none.</summary>
        private static readonly Dictionary<string, Dictionary<int, string>> MessageFields = new()
        {
            ["Envelope"] = new()
            {
                [10] = "Leaf", [11] = "Leaf", [12] = "Leaf", [13] = "NodesResponse", [14] = "Leaf", [15] = "ValueResponse",
                [16] = "StoreRequest", [17] = "Leaf", [18] = "Leaf", [19] = "Leaf", [20] = "Leaf", [21] = "ProvidersResponse",
            },
            ["NodesResponse"] = new() { [1] = "Leaf" },
            ["ValueResponse"] = new() { [1] = "Leaf", [2] = "Leaf" },
            ["StoreRequest"] = new() { [2] = "Leaf" },
            ["ProvidersResponse"] = new() { [1] = "Leaf", [2] = "Leaf" },
            ["Leaf"] = new(),
        };

        public static bool IsWellFormed(byte[] bytes)
        {
            var position = 0;
            return Message(bytes, ref position, bytes.Length, "Envelope", depth: 0);
        }

        private static bool Message(byte[] bytes, ref int position, int end, string type, int depth)
        {
            while (position < end)
            {
                if (!Tag(bytes, ref position, end, out var field, out var wireType))
                {
                    return false;
                }

                if (wireType == 2 && MessageFields[type].TryGetValue(field, out var nested))
                {
                    if (!Length(bytes, ref position, end, out var length) || depth >= RecursionLimit
                        || !Message(bytes, ref position, position + length, nested, depth + 1))
                    {
                        return false;
                    }

                    continue;
                }

                if (!Skip(bytes, ref position, end, field, wireType, depth))
                {
                    return false;
                }
            }

            return true;
        }

        private static bool Skip(byte[] bytes, ref int position, int end, int field, int wireType, int depth)
        {
            switch (wireType)
            {
                case 0:
                    return Varint(bytes, ref position, end, out _);
                case 1:
                    return Advance(ref position, end, 8);
                case 2:
                    return Length(bytes, ref position, end, out var length) && Advance(ref position, end, length);
                case 3:
                    if (depth >= RecursionLimit)
                    {
                        return false;
                    }

                    while (Tag(bytes, ref position, end, out var inner, out var innerType))
                    {
                        if (innerType == 4)
                        {
                            return inner == field;
                        }

                        if (!Skip(bytes, ref position, end, inner, innerType, depth + 1))
                        {
                            return false;
                        }
                    }

                    return false; // the input ended, or a bad tag, before the group's end tag
                case 5:
                    return Advance(ref position, end, 4);
                default:
                    return false; // 4: an end tag with no group open; 6 and 7: no such wire type
            }
        }

        /// <summary>Reads a tag: a varint whose low 32 bits hold the field number (above 0) and the wire type.</summary>
        private static bool Tag(byte[] bytes, ref int position, int end, out int field, out int wireType)
        {
            field = wireType = 0;
            if (!Varint(bytes, ref position, end, out var value))
            {
                return false;
            }

            var tag = (uint)value;
            field = (int)(tag >> 3);
            wireType = (int)(tag & 7);
            return field != 0;
        }

        /// <summary>Reads a length: a varint whose low 32 bits, as a signed number, are not negative and fit before <paramref name="end"/>.</summary>
        private static bool Length(byte[] bytes, ref int position, int end, out int length)
        {
            length = 0;
            if (!Varint(bytes, ref position, end, out var value))
            {
                return false;
            }

            length = (int)(uint)value;
            return length >= 0 && length <= end - position;
        }

        private static bool Varint(byte[] bytes, ref int position, int end, out ulong value)
        {
            value = 0;
            for (var i = 0; i < 10 && position < end; i++)
            {
                var b = bytes[position++];
                value |= (ulong)(b & 0x7f) << (7 * i);
                if (b < 0x80)
                {
                    return true;
                }
            }

            return false;
        }

        private static bool Advance(ref int position, int end, int count)
        {
            if (count > end - position)
            {
                return false;
            }

            position += count;
            return true;
        }
    }

    /// <summary>A transport that delivers what the test hands it and records what the node sends, decoded.</summary>
    private sealed class RecordingTransport(IPEndPoint localEndPoint) : IMessageTransport
    {
        private readonly List<(IPEndPoint To, Envelope Envelope)> _sent = [];
        private DatagramHandler? _handler;

        public IPEndPoint LocalEndPoint { get; } = localEndPoint;

        public bool RequiresAsynchronousContinuations => false;

        public void Start(DatagramHandler handler) => _handler = handler;

        public void Send(IPEndPoint remote, ReadOnlySpan<byte> datagram) => _sent.Add((remote, Envelope.Parser.ParseFrom(datagram)));

        public void Deliver(IPEndPoint source, byte[] datagram) => _handler!(source, datagram);

        /// <summary>Transaction ids of the answers sent to <paramref name="to"/>, in order (the node's own PINGs left out).</summary>
        public List<uint> AnswerTransactionIds(IPEndPoint to) =>
            _sent.Where(s => s.To.Equals(to) && s.Envelope.BodyCase != Envelope.BodyOneofCase.Ping).Select(s => s.Envelope.TransactionId).ToList();

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    /// <summary>Counts the reasons of the node's "dropped datagram" log events (EventId 1022).</summary>
    private sealed class DropRecorder : ILoggerFactory, ILogger
    {
        public Dictionary<string, int> Reasons { get; } = [];

        public ILogger CreateLogger(string categoryName) => this;

        public void AddProvider(ILoggerProvider provider)
        {
        }

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (eventId.Id == 1022 && state is IReadOnlyList<KeyValuePair<string, object?>> fields
                && fields.FirstOrDefault(f => f.Key == "Reason").Value is string reason)
            {
                Reasons[reason] = Reasons.GetValueOrDefault(reason) + 1;
            }
        }

        public void Dispose()
        {
        }
    }
}
