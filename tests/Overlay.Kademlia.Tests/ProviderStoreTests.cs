using System.Net;
using Overlay.Kademlia.Internal;

namespace Overlay.Kademlia.Tests;

/// <summary>Provider records: per-key and key-count caps, expiry, and a consistent count under random operations.</summary>
public sealed class ProviderStoreTests
{
    private static readonly DateTimeOffset Now = new(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static ProviderRecord Provider(NodeId key, int n, DateTimeOffset expires) =>
        new(key, NodeId.HashOf(BitConverter.GetBytes(n)), new IPEndPoint(IPAddress.Parse($"203.0.113.{n % 250 + 1}"), 4000 + n), expires);

    [Fact]
    public void PerKeyCap_DropsTheSoonestExpiring()
    {
        var store = new ProviderStore(maxKeys: 10, maxPerKey: 3);
        var key = NodeId.HashOf("content"u8);
        var p10 = Provider(key, 1, Now.AddMinutes(10));
        var p5 = Provider(key, 2, Now.AddMinutes(5));
        var p20 = Provider(key, 3, Now.AddMinutes(20));
        var p15 = Provider(key, 4, Now.AddMinutes(15));
        Assert.True(store.Add(p10, Now));
        Assert.True(store.Add(p5, Now));
        Assert.True(store.Add(p20, Now));
        Assert.True(store.Add(p15, Now));

        Assert.Equal(3, store.Count);
        Assert.Equal([p20, p15, p10], store.Get(key, 10, Now));
    }

    [Fact]
    public void Reannouncement_ReplacesWithoutGrowing()
    {
        var store = new ProviderStore(10, 3);
        var key = NodeId.HashOf("content"u8);
        store.Add(Provider(key, 1, Now.AddMinutes(10)), Now);
        var again = Provider(key, 1, Now.AddMinutes(30)) with { EndPoint = new IPEndPoint(IPAddress.Parse("192.0.2.9"), 9) };
        Assert.True(store.Add(again, Now));
        Assert.Equal(1, store.Count);
        Assert.Equal([again], store.Get(key, 10, Now));
    }

    [Fact]
    public void KeyCap_RefusesNewKeys_UntilOneExpires()
    {
        var store = new ProviderStore(maxKeys: 2, maxPerKey: 5);
        var a = NodeId.HashOf("a"u8);
        var b = NodeId.HashOf("b"u8);
        var c = NodeId.HashOf("c"u8);
        Assert.True(store.Add(Provider(a, 1, Now.AddMinutes(5)), Now));
        Assert.True(store.Add(Provider(b, 2, Now.AddHours(1)), Now));

        Assert.False(store.Add(Provider(c, 3, Now.AddHours(1)), Now));
        Assert.Empty(store.Get(c, 10, Now));
        Assert.Equal(2, store.Count);

        // Existing keys still take more providers.
        Assert.True(store.Add(Provider(a, 4, Now.AddMinutes(5)), Now));
        Assert.Equal(3, store.Count);

        // After a's providers expire, c gets a's slot.
        Assert.True(store.Add(Provider(c, 3, Now.AddHours(1)), Now.AddMinutes(6)));
        Assert.Equal(2, store.Count);
        Assert.Empty(store.Get(a, 10, Now));
    }

    [Fact]
    public void Get_ExcludesExpired_NewestExpiryFirst_AtMostMax()
    {
        var store = new ProviderStore(10, 10);
        var key = NodeId.HashOf("k"u8);
        for (var i = 1; i <= 6; i++)
        {
            store.Add(Provider(key, i, Now.AddMinutes(i)), Now);
        }

        var live = store.Get(key, 10, Now.AddMinutes(3));
        Assert.Equal([6, 5, 4], live.Select(p => (int)(p.Expires - Now).TotalMinutes));
        Assert.Equal(2, store.Get(key, 2, Now).Count);
        Assert.Equal(6, store.Count);
        Assert.Empty(store.Get(NodeId.HashOf("other"u8), 10, Now));
    }

    [Fact]
    public void Count_StaysConsistent_UnderRandomOperations()
    {
        const int seed = 99;
        var random = new Random(seed);
        var store = new ProviderStore(maxKeys: 8, maxPerKey: 4);
        var keys = Enumerable.Range(0, 12).Select(i => NodeId.HashOf(BitConverter.GetBytes(i))).ToList();
        var now = Now;
        for (var step = 0; step < 5000; step++)
        {
            now = now.AddSeconds(random.Next(0, 30));
            if (random.Next(10) == 0)
            {
                var before = Stored(store, keys);
                var removed = store.Expire(now);
                Assert.Equal(before - Stored(store, keys), removed);
            }
            else
            {
                var key = keys[random.Next(keys.Count)];
                store.Add(Provider(key, random.Next(20), now.AddSeconds(random.Next(1, 600))), now);
            }

            var stored = Stored(store, keys);
            Assert.True(store.Count == stored, $"seed {seed} step {step}: Count {store.Count}, stored {stored}");
            Assert.All(keys, k => Assert.True(store.Get(k, int.MaxValue, DateTimeOffset.MinValue).Count <= 4));
        }
    }

    /// <summary>Counts every stored record, expired or not (Get with the earliest possible now).</summary>
    private static int Stored(ProviderStore store, List<NodeId> keys) =>
        keys.Sum(k => store.Get(k, int.MaxValue, DateTimeOffset.MinValue).Count);
}
