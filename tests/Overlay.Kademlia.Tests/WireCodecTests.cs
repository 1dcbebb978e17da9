using System.Net;
using System.Net.Sockets;
using Google.Protobuf;
using Overlay.Kademlia.Internal;
using Overlay.Kademlia.Wire;
using WireRecord = Overlay.Kademlia.Wire.Record;

namespace Overlay.Kademlia.Tests;

/// <summary>Conversions between wire messages and domain types; untrusted fields are rejected without throwing.</summary>
public sealed class WireCodecTests
{
    private static readonly DateTimeOffset Now = new(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly NodeId Id = NodeId.HashOf("node"u8);

    [Theory]
    [InlineData("192.0.2.1", 1)]
    [InlineData("198.51.100.200", 65535)]
    [InlineData("2001:db8::1", 4000)]
    [InlineData("fe80::1:2:3:4", 12345)]
    public void Contact_RoundTrips_ThroughTheWire(string address, int port)
    {
        var contact = new NodeContact(Id, new IPEndPoint(IPAddress.Parse(address), port));
        var wire = WireCodec.ToContact(contact);
        Assert.Equal(IPAddress.Parse(address).AddressFamily == AddressFamily.InterNetwork ? 4 : 16, wire.Ip.Length);

        var decoded = Contact.Parser.ParseFrom(wire.ToByteArray());
        Assert.True(WireCodec.TryFromContact(decoded, out var back));
        Assert.Equal(contact, back);
    }

    [Fact]
    public void Contact_WithAnIPv4MappedAddress_DecodesAsIPv4_SoOneNodeHasOneAddressForm()
    {
        var mapped = new NodeContact(Id, new IPEndPoint(IPAddress.Parse("::ffff:192.0.2.1"), 80));
        var wire = WireCodec.ToContact(mapped);

        Assert.Equal(16, wire.Ip.Length);
        Assert.True(WireCodec.TryFromContact(Contact.Parser.ParseFrom(wire.ToByteArray()), out var back));
        Assert.Equal(new NodeContact(Id, new IPEndPoint(IPAddress.Parse("192.0.2.1"), 80)), back);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(20)]
    [InlineData(31)]
    [InlineData(33)]
    public void TryFromContact_RejectsBadIdLength(int length) =>
        Assert.False(WireCodec.TryFromContact(new Contact { Id = ByteString.CopyFrom(new byte[length]), Ip = ByteString.CopyFrom(1, 2, 3, 4), Port = 1 }, out _));

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    [InlineData(5)]
    [InlineData(6)]
    [InlineData(15)]
    [InlineData(17)]
    public void TryFromContact_RejectsBadIpLength(int length) =>
        Assert.False(WireCodec.TryFromContact(new Contact { Id = WireCodec.ToBytes(Id), Ip = ByteString.CopyFrom(new byte[length]), Port = 1 }, out _));

    [Theory]
    [InlineData(0u)]
    [InlineData(65536u)]
    [InlineData(100000u)]
    [InlineData(uint.MaxValue)]
    public void TryFromContact_RejectsBadPort(uint port)
    {
        Assert.False(WireCodec.TryFromContact(new Contact { Id = WireCodec.ToBytes(Id), Ip = ByteString.CopyFrom(1, 2, 3, 4), Port = port }, out _));
        Assert.False(WireCodec.TryEndPoint(ByteString.CopyFrom(new byte[16]), port, out _));
    }

    [Fact]
    public void FromContacts_SkipsBadOnes_KeepsOrder()
    {
        var a = new NodeContact(NodeId.HashOf("a"u8), new IPEndPoint(IPAddress.Parse("192.0.2.1"), 1));
        var b = new NodeContact(NodeId.HashOf("b"u8), new IPEndPoint(IPAddress.Parse("2001:db8::2"), 2));
        var bad = new Contact { Id = ByteString.CopyFrom(1), Ip = ByteString.CopyFrom(1, 2, 3, 4), Port = 3 };
        var list = WireCodec.FromContacts([bad, WireCodec.ToContact(a), bad, WireCodec.ToContact(b), new Contact()]);
        Assert.Equal([a, b], list);
    }

    [Fact]
    public void Normalize_MapsIPv4MappedIPv6_ToIPv4()
    {
        var mapped = new IPEndPoint(IPAddress.Parse("::ffff:192.0.2.7"), 9);
        var normalized = WireCodec.Normalize(mapped);
        Assert.Equal(AddressFamily.InterNetwork, normalized.AddressFamily);
        Assert.Equal(new IPEndPoint(IPAddress.Parse("192.0.2.7"), 9), normalized);

        var v6 = new IPEndPoint(IPAddress.Parse("2001:db8::7"), 9);
        Assert.Same(v6, WireCodec.Normalize(v6));
        var v4 = new IPEndPoint(IPAddress.Parse("192.0.2.7"), 9);
        Assert.Same(v4, WireCodec.Normalize(v4));
    }

    [Fact]
    public void Record_RoundTrips_Immutable()
    {
        var record = DhtRecord.CreateImmutable("value"u8, Now.AddHours(2));
        var back = RoundTrip(record, TimeSpan.FromHours(48));
        Assert.NotNull(back);
        Assert.Equal(record.Key, back.Key);
        Assert.Equal(record.Value.ToArray(), back.Value.ToArray());
        Assert.False(back.IsMutable);
        Assert.Equal(Now.AddHours(2), back.Expires);
        Assert.Equal(RecordCheck.Valid, back.Verify(1000));
    }

    [Fact]
    public void Record_RoundTrips_Mutable()
    {
        var record = DhtRecord.CreateMutable(DhtRecordTests.Identity(31), "salt"u8, "value"u8, long.MaxValue, Now.AddMinutes(90));
        var back = RoundTrip(record, TimeSpan.FromHours(48));
        Assert.NotNull(back);
        Assert.Equal(record.PublicKey.ToArray(), back.PublicKey.ToArray());
        Assert.Equal(record.Salt.ToArray(), back.Salt.ToArray());
        Assert.Equal(record.Signature.ToArray(), back.Signature.ToArray());
        Assert.Equal(long.MaxValue, back.Sequence);
        Assert.Equal(Now.AddMinutes(90), back.Expires);
        Assert.Equal(RecordCheck.Valid, back.Verify(1000));
    }

    [Fact]
    public void Record_Ttl_CappedAtMaxTtl_RoundedUp_NeverNegative()
    {
        var longLived = DhtRecord.CreateImmutable("v"u8, Now.AddDays(10));
        Assert.Equal(Now.AddHours(48), RoundTrip(longLived, TimeSpan.FromHours(48))!.Expires);

        var fractional = DhtRecord.CreateImmutable("v"u8, Now.AddSeconds(10.2));
        Assert.Equal(11u, WireCodec.ToWire(fractional, Now).TtlSeconds);

        var expired = DhtRecord.CreateImmutable("v"u8, Now.AddSeconds(-30));
        Assert.Equal(0u, WireCodec.ToWire(expired, Now).TtlSeconds);

        var huge = new WireRecord { Value = ByteString.CopyFrom(1), TtlSeconds = uint.MaxValue };
        Assert.Equal(Now.AddDays(7), WireCodec.FromWire(Id, huge, Now, TimeSpan.FromDays(7))!.Expires);
    }

    [Fact]
    public void FromWire_RejectsMissingRecord_AndSequenceBeyondInt64()
    {
        Assert.Null(WireCodec.FromWire(Id, null, Now, TimeSpan.FromHours(1)));
        Assert.Null(WireCodec.FromWire(Id, new WireRecord { Sequence = (ulong)long.MaxValue + 1 }, Now, TimeSpan.FromHours(1)));
        Assert.NotNull(WireCodec.FromWire(Id, new WireRecord { Sequence = long.MaxValue }, Now, TimeSpan.FromHours(1)));
    }

    private static DhtRecord? RoundTrip(DhtRecord record, TimeSpan maxTtl)
    {
        var bytes = WireCodec.ToWire(record, Now).ToByteArray();
        return WireCodec.FromWire(record.Key, WireRecord.Parser.ParseFrom(bytes), Now, maxTtl);
    }
}
