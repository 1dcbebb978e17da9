using System.Net;
using Overlay.Kademlia.Internal;

namespace Overlay.Kademlia.Tests;

/// <summary>The routing table's diversity limits: one node ID per endpoint, and caps per IP group per bucket and per table.</summary>
public sealed class RoutingTableDiversityTests
{
    private const int Seed = 8;

    [Fact]
    public void SecondId_AtAnEndPointAlreadyHeld_IsRefused_UntilTheFirstIsEvicted()
    {
        var random = new Random(Seed);
        var self = NodeId.Random(random);
        var table = new RoutingTable(self, 20, new DiversityLimits(true, 0, 0, 0, 0));
        var endPoint = new IPEndPoint(IPAddress.Parse("203.0.113.5"), 4001);
        var ids = Enumerable.Range(0, 30).Select(_ => NodeId.Random(random)).ToList();

        foreach (var id in ids)
        {
            table.Update(new NodeContact(id, endPoint), 0);
        }

        Assert.Equal([ids[0]], table.All().Select(c => c.Id));
        Assert.Equal(29, table.DiversityRefusals);
        Assert.True(table.EndPointHeldByOther(endPoint, ids[1]));
        Assert.False(table.EndPointHeldByOther(endPoint, ids[0]));

        for (var i = 0; i < RoutingTable.MaxFailures; i++)
        {
            table.OnFailure(ids[0]);
        }

        table.Update(new NodeContact(ids[1], endPoint), 1);
        Assert.Equal([ids[1]], table.All().Select(c => c.Id));
    }

    [Fact]
    public void PublicIpGroup_IsCappedPerBucket_AndPerTable()
    {
        var random = new Random(Seed);
        var self = NodeId.Random(random);
        var table = new RoutingTable(self, 20, new DiversityLimits(true, PerBucket: 2, PerTable: 3, LocalPerBucket: 0, LocalPerTable: 0));

        // Five hosts of one /24, all in bucket 0: two get in.
        for (var i = 0; i < 5; i++)
        {
            table.Update(Contact(self.RandomInBucket(0, random), $"198.18.7.{i + 1}"), 0);
        }

        Assert.Equal(2, table.Count);

        // Same /24 in other buckets: the table's cap of 3 stops the fourth.
        table.Update(Contact(self.RandomInBucket(1, random), "198.18.7.20"), 0);
        table.Update(Contact(self.RandomInBucket(2, random), "198.18.7.21"), 0);
        Assert.Equal(3, table.Count);

        // Another /24 is not affected, nor is the same /16.
        table.Update(Contact(self.RandomInBucket(0, random), "198.18.8.1"), 0);
        Assert.Equal(4, table.Count);
        Assert.Equal(4, table.DiversityRefusals);
    }

    [Fact]
    public void Ipv6_GroupsBy48()
    {
        var random = new Random(Seed);
        var self = NodeId.Random(random);
        var table = new RoutingTable(self, 20, new DiversityLimits(true, PerBucket: 1, PerTable: 0, LocalPerBucket: 0, LocalPerTable: 0));

        table.Update(Contact(self.RandomInBucket(0, random), "2001:db8:aaaa:1::1"), 0);
        table.Update(Contact(self.RandomInBucket(0, random), "2001:db8:aaaa:ffff::1"), 0);
        table.Update(Contact(self.RandomInBucket(0, random), "2001:db8:aaab::1"), 0);

        Assert.Equal(2, table.Count);
    }

    [Fact]
    public void LocalRanges_HaveTheirOwnLimits()
    {
        var random = new Random(Seed);
        var self = NodeId.Random(random);
        var table = new RoutingTable(self, 20, new DiversityLimits(true, PerBucket: 1, PerTable: 1, LocalPerBucket: 0, LocalPerTable: 0));

        // A local swarm: many nodes on 127.0.0.1, one port each, and a LAN.
        for (var i = 0; i < 10; i++)
        {
            table.Update(new NodeContact(self.RandomInBucket(0, random), new IPEndPoint(IPAddress.Loopback, 5000 + i)), 0);
            table.Update(Contact(self.RandomInBucket(1, random), $"192.168.1.{i + 1}"), 0);
        }

        Assert.Equal(20, table.Count);
        Assert.True(IpGroup.Of(IPAddress.Parse("10.1.2.3")).IsLocal);
        Assert.True(IpGroup.Of(IPAddress.Parse("172.31.0.1")).IsLocal);
        Assert.True(IpGroup.Of(IPAddress.Parse("100.64.0.1")).IsLocal);
        Assert.True(IpGroup.Of(IPAddress.Parse("fd00::1")).IsLocal);
        Assert.True(IpGroup.Of(IPAddress.Parse("fe80::1")).IsLocal);
        Assert.True(IpGroup.Of(IPAddress.IPv6Loopback).IsLocal);
        Assert.False(IpGroup.Of(IPAddress.Parse("172.32.0.1")).IsLocal);
        Assert.False(IpGroup.Of(IPAddress.Parse("100.128.0.1")).IsLocal);
        Assert.False(IpGroup.Of(IPAddress.Parse("2001:db8::1")).IsLocal);
    }

    [Fact]
    public void Replacement_ThatWouldBreakALimit_IsSkipped_WhenAHeadIsEvicted()
    {
        var random = new Random(Seed);
        var self = NodeId.Random(random);
        var table = new RoutingTable(self, 2, new DiversityLimits(true, PerBucket: 1, PerTable: 0, LocalPerBucket: 0, LocalPerTable: 0));
        var head = Contact(self.RandomInBucket(0, random), "198.18.1.1");
        var other = Contact(self.RandomInBucket(0, random), "198.18.2.1");
        table.Update(head, 0);
        table.Update(other, 0);

        // Bucket full: two newcomers wait as replacements; the newest shares the remaining contact's /24.
        var fine = Contact(self.RandomInBucket(0, random), "198.18.3.1");
        var sameGroupAsOther = Contact(self.RandomInBucket(0, random), "198.18.2.9");
        table.Update(fine, 1);
        table.Update(sameGroupAsOther, 2);
        table.OnEvictionPing(head, answered: false);

        Assert.Equal(new[] { other.Id, fine.Id }.Order(), table.All().Select(c => c.Id).Order());
    }

    [Fact]
    public void Contact_MovingToAnEndPointHeldByAnother_KeepsItsOldEndPoint()
    {
        var random = new Random(Seed);
        var self = NodeId.Random(random);
        var table = new RoutingTable(self, 20, new DiversityLimits(true, 0, 0, 0, 0));
        var a = Contact(self.RandomInBucket(0, random), "203.0.113.1");
        var b = Contact(self.RandomInBucket(0, random), "203.0.113.2");
        table.Update(a, 0);
        table.Update(b, 0);

        table.Update(new NodeContact(b.Id, a.EndPoint), 1);
        table.Update(new NodeContact(a.Id, new IPEndPoint(IPAddress.Parse("203.0.113.3"), 4001)), 1);

        var all = table.All().ToDictionary(c => c.Id, c => c.EndPoint);
        Assert.Equal(b.EndPoint, all[b.Id]);
        Assert.Equal(IPAddress.Parse("203.0.113.3"), all[a.Id].Address);
        Assert.False(table.EndPointHeldByOther(a.EndPoint, b.Id));
    }

    private static NodeContact Contact(NodeId id, string address) => new(id, new IPEndPoint(IPAddress.Parse(address), 4001));
}
