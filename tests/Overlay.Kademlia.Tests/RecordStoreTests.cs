using Overlay.Kademlia.Internal;
using Overlay.Kademlia.Wire;

namespace Overlay.Kademlia.Tests;

/// <summary>The record store: BEP 44 sequence ordering, expiry by explicit now, and the record cap.</summary>
public sealed class RecordStoreTests
{
    private static readonly DateTimeOffset Now = new(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly NodeIdentity Publisher = DhtRecordTests.Identity(11);

    private static DhtRecord Mutable(long sequence, string value, DateTimeOffset? expires = null) =>
        DhtRecord.CreateMutable(Publisher, "s"u8, System.Text.Encoding.UTF8.GetBytes(value), sequence, expires ?? Now.AddHours(1));

    [Fact]
    public void HigherSequence_Replaces_LowerIsStale()
    {
        var store = new RecordStore(100);
        Assert.Equal(StoreStatus.Ok, store.Put(Mutable(1, "one"), Now));
        Assert.Equal(StoreStatus.Ok, store.Put(Mutable(2, "two"), Now));
        Assert.Equal("two"u8.ToArray(), store.Get(Mutable(0, "").Key, Now)!.Value.ToArray());

        Assert.Equal(StoreStatus.StaleSequence, store.Put(Mutable(1, "one"), Now));
        Assert.Equal(StoreStatus.StaleSequence, store.Put(Mutable(1, "one", Now.AddDays(1)), Now));
        Assert.Equal(2, store.Get(Mutable(0, "").Key, Now)!.Sequence);
        Assert.Equal(1, store.Count);
    }

    [Fact]
    public void EqualSequence_DifferentValue_IsRefused()
    {
        var store = new RecordStore(100);
        store.Put(Mutable(5, "a"), Now);
        Assert.Equal(StoreStatus.StaleSequence, store.Put(Mutable(5, "b", Now.AddDays(1)), Now));
        Assert.Equal("a"u8.ToArray(), store.Get(Mutable(5, "a").Key, Now)!.Value.ToArray());
    }

    [Fact]
    public void EqualSequence_SameValue_ExtendsButNeverShortensExpiry()
    {
        var store = new RecordStore(100);
        var key = Mutable(5, "a").Key;
        store.Put(Mutable(5, "a", Now.AddHours(1)), Now);

        Assert.Equal(StoreStatus.Ok, store.Put(Mutable(5, "a", Now.AddHours(3)), Now));
        Assert.Equal(Now.AddHours(3), store.Get(key, Now)!.Expires);

        Assert.Equal(StoreStatus.Ok, store.Put(Mutable(5, "a", Now.AddHours(2)), Now));
        Assert.Equal(Now.AddHours(3), store.Get(key, Now)!.Expires);
    }

    [Fact]
    public void Immutable_Republish_ExtendsExpiry()
    {
        var store = new RecordStore(100);
        var r = DhtRecord.CreateImmutable("data"u8, Now.AddHours(1));
        store.Put(r, Now);
        Assert.Equal(StoreStatus.Ok, store.Put(r.WithExpiry(Now.AddMinutes(30)), Now));
        Assert.Equal(Now.AddHours(1), store.Get(r.Key, Now)!.Expires);
        Assert.Equal(StoreStatus.Ok, store.Put(r.WithExpiry(Now.AddHours(5)), Now));
        Assert.Equal(Now.AddHours(5), store.Get(r.Key, Now)!.Expires);
    }

    [Fact]
    public void Expiry_IsJudgedByTheGivenNow()
    {
        var store = new RecordStore(100);
        var r = DhtRecord.CreateImmutable("data"u8, Now.AddMinutes(10));
        store.Put(r, Now);

        Assert.NotNull(store.Get(r.Key, Now.AddMinutes(10).AddTicks(-1)));
        Assert.Null(store.Get(r.Key, Now.AddMinutes(10)));
        Assert.Equal(0, store.Count);
        Assert.Null(store.Get(NodeId.HashOf("absent"u8), Now));
    }

    [Fact]
    public void ExpiredRecord_DoesNotBlockALowerSequence()
    {
        var store = new RecordStore(100);
        store.Put(Mutable(9, "old", Now.AddMinutes(1)), Now);
        Assert.Equal(StoreStatus.Ok, store.Put(Mutable(1, "new"), Now.AddMinutes(2)));
        Assert.Equal(1, store.Get(Mutable(1, "new").Key, Now.AddMinutes(2))!.Sequence);
    }

    [Fact]
    public void Expire_RemovesOnlyExpired_AndCounts()
    {
        var store = new RecordStore(100);
        for (var i = 0; i < 10; i++)
        {
            store.Put(DhtRecord.CreateImmutable([(byte)i], Now.AddMinutes(i + 1)), Now);
        }

        Assert.Equal(4, store.Expire(Now.AddMinutes(4)));
        Assert.Equal(6, store.Count);
        Assert.Equal(6, store.Snapshot().Count);
        Assert.All(store.Snapshot(), r => Assert.True(r.Expires > Now.AddMinutes(4)));
        Assert.Equal(0, store.Expire(Now.AddMinutes(4)));
    }

    [Fact]
    public void Full_RefusesNewKeys_ButAcceptsUpdates_AndPurgesExpiredFirst()
    {
        var store = new RecordStore(maxRecords: 3);
        var a = DhtRecord.CreateImmutable("a"u8, Now.AddMinutes(5));
        var b = DhtRecord.CreateImmutable("b"u8, Now.AddHours(1));
        var c = DhtRecord.CreateImmutable("c"u8, Now.AddHours(1));
        var d = DhtRecord.CreateImmutable("d"u8, Now.AddHours(1));
        Assert.Equal(StoreStatus.Ok, store.Put(a, Now));
        Assert.Equal(StoreStatus.Ok, store.Put(b, Now));
        Assert.Equal(StoreStatus.Ok, store.Put(c, Now));

        Assert.Equal(StoreStatus.Full, store.Put(d, Now));
        Assert.Null(store.Get(d.Key, Now));
        Assert.Equal(StoreStatus.Ok, store.Put(b.WithExpiry(Now.AddHours(2)), Now));
        Assert.Equal(3, store.Count);

        // Once a has expired, d fits.
        Assert.Equal(StoreStatus.Ok, store.Put(d, Now.AddMinutes(6)));
        Assert.Equal(3, store.Count);
        Assert.NotNull(store.Get(d.Key, Now.AddMinutes(6)));
        Assert.Null(store.Get(a.Key, Now.AddMinutes(6)));
    }
}
