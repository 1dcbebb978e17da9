using System.Net;
using Overlay.Kademlia.Internal;
using Overlay.Testing.Simulation;

namespace Overlay.Kademlia.Tests;

/// <summary>
/// The 3x rule (RFC 9000 §8.1) in the 200-node simulated swarm, where the in-memory network lets an attacker forge the
/// source address exactly: a flood of requests claiming a victim's address makes no node send the victim more than 3x
/// the bytes it received "from" it, answers and verification PINGs (with their retransmissions) included, while honest
/// lookups during the flood find the true closest nodes.
/// </summary>
public sealed class AddressValidationSimulationTests
{
    [Fact]
    public void SpoofedFlood_SendsTheVictimAtMost3xWhatEachNodeReceived_AndHonestLookupsSucceed()
    {
        const int nodes = 200;
        const int flood = 3_000;
        const int lookups = 100;
        var swarm = new SimulatedSwarm(seed: 909, LatencyModel.WideArea());
        var victim = new IPEndPoint(IPAddress.Parse("127.250.0.1"), 4001);
        var received = new Dictionary<IPEndPoint, long>();
        var sent = new Dictionary<IPEndPoint, long>();
        var draw = new Random(910);
        DhtRecord? record = null;
        swarm.Simulator.Run(async () =>
        {
            await swarm.GrowAsync(nodes, SimulationExperiments.JoinConcurrency);

            // A 1,000-byte record, so that FIND_VALUE answers can carry one (more than 3x any unpadded request).
            var value = new byte[1000];
            draw.NextBytes(value);
            record = DhtRecord.CreateImmutable(value, swarm.Simulator.GetUtcNow().AddHours(1));
            await swarm[0].PutAsync(record);
        });
        swarm.Simulator.RunFor(TimeSpan.FromMinutes(1));

        swarm.Network.Tap = (source, to, length) =>
        {
            if (source.Equals(victim))
            {
                received[to] = received.GetValueOrDefault(to) + length;
            }
            else if (to.Equals(victim))
            {
                sent[source] = sent.GetValueOrDefault(source) + length;
            }
        };
        var targets = Enumerable.Range(0, 20).Select(_ => swarm[draw.Next(nodes)].LocalContact.EndPoint).Distinct().ToList();
        var found = 0;
        swarm.Simulator.Run(async () =>
        {
            var honest = HonestLookupsAsync(swarm, lookups, new Random(911), () => found++);
            for (var i = 0; i < flood; i++)
            {
                swarm.Network.Inject(victim, targets[i % targets.Count], ForgedRequests.Next(draw, record!.Key, (uint)i));
                if (i % 10 == 9)
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(20), swarm.Simulator);
                }
            }

            await honest;
        });

        // Long enough for every verification PING's retransmissions to go out (or not).
        swarm.Simulator.RunFor(TimeSpan.FromMinutes(2));

        Assert.True(found == lookups, $"seed {swarm.Seed}: {found} of {lookups} lookups during the flood found the closest node");
        Assert.True(sent.Values.Sum() > 0, $"seed {swarm.Seed}: the flood drew no answer at all, so it tested nothing");
        foreach (var (node, bytes) in sent)
        {
            var credited = received.GetValueOrDefault(node);
            Assert.True(bytes <= WireCodec.AmplificationFactor * credited, $"seed {swarm.Seed}: {node} sent the victim {bytes} bytes after receiving {credited} from it");
        }

        var statistics = Enumerable.Range(0, swarm.Count).Select(i => swarm[i].GetStatistics()).ToList();
        Assert.True(statistics.Sum(s => s.AnswersTrimmed) > 0, $"seed {swarm.Seed}: no answer was trimmed, so the 3x limit never bit");
    }

    /// <summary>Runs lookups of random targets from random nodes one after another and counts those that find the true closest node.</summary>
    private static async Task HonestLookupsAsync(SimulatedSwarm swarm, int count, Random random, Action onFound)
    {
        for (var i = 0; i < count; i++)
        {
            var target = NodeId.Random(random);
            var result = await swarm[random.Next(swarm.Count)].FindNodeAsync(target);
            if (result.Closest.Count > 0 && result.Closest[0].Id == swarm.TrueClosest(target, 1)[0])
            {
                onFound();
            }
        }
    }
}
