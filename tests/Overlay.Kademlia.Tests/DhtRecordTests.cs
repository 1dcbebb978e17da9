using System.Security.Cryptography;

namespace Overlay.Kademlia.Tests;

/// <summary>Immutable (content-addressed) and mutable (BEP 44-style signed) records: keys, signatures, limits.</summary>
public sealed class DhtRecordTests
{
    private static readonly DateTimeOffset Expires = new(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);

    internal static NodeIdentity Identity(int seed)
    {
        var bytes = new byte[32];
        new Random(seed).NextBytes(bytes);
        return NodeIdentity.FromSeed(bytes);
    }

    [Fact]
    public void Immutable_KeyIsSha256OfValue_AndVerifies()
    {
        var value = "hello, overlay"u8.ToArray();
        var record = DhtRecord.CreateImmutable(value, Expires);

        Assert.Equal(SHA256.HashData(value), record.Key.ToArray());
        Assert.Equal(DhtRecord.ImmutableKey(value), record.Key);
        Assert.False(record.IsMutable);
        Assert.Equal(value, record.Value.ToArray());
        Assert.Equal(0, record.Sequence);
        Assert.True(record.PublicKey.IsEmpty && record.Salt.IsEmpty && record.Signature.IsEmpty);
        Assert.Equal(Expires, record.Expires);
        Assert.Equal(RecordCheck.Valid, record.Verify(1000));
    }

    [Fact]
    public void Immutable_Tampered_IsInvalid()
    {
        var value = "v"u8.ToArray();
        var key = DhtRecord.ImmutableKey(value);
        Assert.Equal(RecordCheck.Valid, DhtRecord.FromParts(key, value, [], [], 0, [], Expires).Verify(1000));
        Assert.Equal(RecordCheck.Invalid, DhtRecord.FromParts(key, "w"u8.ToArray(), [], [], 0, [], Expires).Verify(1000));
        Assert.Equal(RecordCheck.Invalid, DhtRecord.FromParts(NodeId.HashOf("w"u8), value, [], [], 0, [], Expires).Verify(1000));
        Assert.Equal(RecordCheck.Invalid, DhtRecord.FromParts(key, value, [], [1], 0, [], Expires).Verify(1000));
        Assert.Equal(RecordCheck.Invalid, DhtRecord.FromParts(key, value, [], [], 0, new byte[64], Expires).Verify(1000));
        Assert.Equal(RecordCheck.Invalid, DhtRecord.FromParts(key, value, [], [], -1, [], Expires).Verify(1000));
    }

    [Fact]
    public void Immutable_LongerThanAllowed_IsInvalid()
    {
        var record = DhtRecord.CreateImmutable(new byte[500], Expires);
        Assert.Equal(RecordCheck.Valid, record.Verify(500));
        Assert.Equal(RecordCheck.Invalid, record.Verify(499));
    }

    [Fact]
    public void Mutable_SignedAndVerified()
    {
        var publisher = Identity(1);
        var salt = "profile"u8.ToArray();
        var value = "v1"u8.ToArray();
        var record = DhtRecord.CreateMutable(publisher, salt, value, 7, Expires);

        Assert.True(record.IsMutable);
        Assert.Equal(SHA256.HashData([.. publisher.PublicKey.ToArray(), .. salt]), record.Key.ToArray());
        Assert.Equal(DhtRecord.MutableKey(publisher.PublicKey.Span, salt), record.Key);
        Assert.Equal(publisher.PublicKey.ToArray(), record.PublicKey.ToArray());
        Assert.Equal(salt, record.Salt.ToArray());
        Assert.Equal(7, record.Sequence);
        Assert.Equal(NodeIdentity.SignatureLength, record.Signature.Length);
        Assert.Equal(RecordCheck.Valid, record.Verify(1000));

        // The signature covers a domain-separated message, never the bare value.
        Assert.False(NodeIdentity.Verify(record.PublicKey.Span, value, record.Signature.Span));
    }

    [Fact]
    public void Mutable_EmptySaltAndMaxSalt_Verify()
    {
        var publisher = Identity(2);
        Assert.Equal(RecordCheck.Valid, DhtRecord.CreateMutable(publisher, [], "x"u8, 0, Expires).Verify(1000));
        Assert.Equal(RecordCheck.Valid, DhtRecord.CreateMutable(publisher, new byte[DhtRecord.MaxSaltBytes], new byte[1000], long.MaxValue, Expires).Verify(1000));
    }

    [Fact]
    public void Mutable_Tampered_IsRefused()
    {
        var publisher = Identity(3);
        var other = Identity(4);
        var r = DhtRecord.CreateMutable(publisher, "s"u8, "value"u8, 5, Expires);
        var key = r.Key;
        var pub = r.PublicKey.ToArray();
        var salt = r.Salt.ToArray();
        var sig = r.Signature.ToArray();
        var value = r.Value.ToArray();

        // Signed fields changed, key still right: the signature no longer verifies.
        Assert.Equal(RecordCheck.BadSignature, DhtRecord.FromParts(key, "valuE"u8.ToArray(), pub, salt, 5, sig, Expires).Verify(1000));
        Assert.Equal(RecordCheck.BadSignature, DhtRecord.FromParts(key, value, pub, salt, 6, sig, Expires).Verify(1000));
        Assert.Equal(RecordCheck.BadSignature, DhtRecord.FromParts(key, value, pub, salt, 4, sig, Expires).Verify(1000));
        var flipped = (byte[])sig.Clone();
        flipped[10] ^= 0x01;
        Assert.Equal(RecordCheck.BadSignature, DhtRecord.FromParts(key, value, pub, salt, 5, flipped, Expires).Verify(1000));
        Assert.Equal(RecordCheck.BadSignature, DhtRecord.FromParts(key, value, pub, salt, 5, sig[..63], Expires).Verify(1000));
        Assert.Equal(RecordCheck.BadSignature, DhtRecord.FromParts(key, value, pub, salt, 5, [], Expires).Verify(1000));

        // Salt changed: the key no longer matches (Invalid); with the key recomputed, the signature fails.
        Assert.Equal(RecordCheck.Invalid, DhtRecord.FromParts(key, value, pub, "t"u8.ToArray(), 5, sig, Expires).Verify(1000));
        Assert.Equal(RecordCheck.BadSignature, DhtRecord.FromParts(DhtRecord.MutableKey(pub, "t"u8), value, pub, "t"u8.ToArray(), 5, sig, Expires).Verify(1000));

        // Another publisher's key, with the matching storage key: the signature is not theirs.
        var otherPub = other.PublicKey.ToArray();
        Assert.Equal(RecordCheck.BadSignature, DhtRecord.FromParts(DhtRecord.MutableKey(otherPub, salt), value, otherPub, salt, 5, sig, Expires).Verify(1000));

        // Wrong storage key, or malformed fields.
        Assert.Equal(RecordCheck.Invalid, DhtRecord.FromParts(NodeId.HashOf("elsewhere"u8), value, pub, salt, 5, sig, Expires).Verify(1000));
        Assert.Equal(RecordCheck.Invalid, DhtRecord.FromParts(DhtRecord.MutableKey(pub[..31], salt), value, pub[..31], salt, 5, sig, Expires).Verify(1000));
        Assert.Equal(RecordCheck.Invalid, DhtRecord.FromParts(key, value, pub, salt, -1, sig, Expires).Verify(1000));
        var longSalt = new byte[DhtRecord.MaxSaltBytes + 1];
        Assert.Equal(RecordCheck.Invalid, DhtRecord.FromParts(DhtRecord.MutableKey(pub, longSalt), value, pub, longSalt, 5, sig, Expires).Verify(1000));
        Assert.Equal(RecordCheck.Invalid, r.Verify(4));
    }

    [Fact]
    public void Value_Over1000Bytes_Throws()
    {
        var publisher = Identity(5);
        Assert.Throws<ArgumentException>(() => DhtRecord.CreateImmutable(new byte[1001], Expires));
        Assert.Throws<ArgumentException>(() => DhtRecord.CreateMutable(publisher, [], new byte[1001], 0, Expires));
        Assert.Equal(1000, DhtRecord.CreateImmutable(new byte[1000], Expires).Value.Length);
    }

    [Fact]
    public void Salt_Over64Bytes_Throws_AndNegativeSequenceThrows()
    {
        var publisher = Identity(6);
        Assert.Throws<ArgumentException>(() => DhtRecord.CreateMutable(publisher, new byte[65], "v"u8, 0, Expires));
        Assert.Throws<ArgumentOutOfRangeException>(() => DhtRecord.CreateMutable(publisher, [], "v"u8, -1, Expires));
        Assert.Throws<ArgumentNullException>(() => DhtRecord.CreateMutable(null!, [], "v"u8, 0, Expires));
    }

    [Fact]
    public void WithExpiry_ChangesOnlyTheExpiry()
    {
        var r = DhtRecord.CreateMutable(Identity(7), "s"u8, "v"u8, 3, Expires);
        var later = r.WithExpiry(Expires.AddDays(1));
        Assert.Equal(Expires.AddDays(1), later.Expires);
        Assert.Equal(Expires, r.Expires);
        Assert.Equal(r.Key, later.Key);
        Assert.Equal(r.Sequence, later.Sequence);
        Assert.Equal(r.Signature.ToArray(), later.Signature.ToArray());
        Assert.Equal(RecordCheck.Valid, later.Verify(1000));
    }
}
