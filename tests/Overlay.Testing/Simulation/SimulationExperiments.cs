using System.Diagnostics;
using Overlay.Kademlia;

namespace Overlay.Testing.Simulation;

/// <summary>The figures of one lookup experiment (<see cref="SimulationExperiments.Lookups"/>).</summary>
/// <param name="Nodes">Swarm size.</param>
/// <param name="Latency">Latency model, as text.</param>
/// <param name="LossRate">Datagram loss during the lookups, 0..1.</param>
/// <param name="Churn">Session model, as text; "none" without churn.</param>
/// <param name="Lookups">Lookups run.</param>
/// <param name="FoundClosest">Lookups whose first result is the live node closest to the target (brute force).</param>
/// <param name="ExactK">Lookups whose result is exactly the k live nodes closest to the target.</param>
/// <param name="RoundsP50">Median lookup rounds (longest chain of sequential queries).</param>
/// <param name="RoundsP99">99th-percentile rounds.</param>
/// <param name="MessagesMean">Mean requests sent per lookup.</param>
/// <param name="MessagesP99">99th-percentile requests per lookup.</param>
/// <param name="LatencyP50Ms">Median lookup duration in virtual time, ms.</param>
/// <param name="LatencyP99Ms">99th-percentile lookup duration, ms.</param>
/// <param name="JoinWall">Wall time to grow the swarm and let it settle.</param>
/// <param name="LookupWall">Wall time of the lookups.</param>
/// <param name="Datagrams">Datagrams the network carried in the whole run.</param>
/// <param name="Seed">The seed; the same seed gives the same figures (wall times aside).</param>
/// <param name="IdentityProofs">Identity proofs the live nodes checked and accepted in the whole run (each one Ed25519 signature made and one verified: the crypto work).</param>
public sealed record LookupExperimentResult(
    int Nodes,
    string Latency,
    double LossRate,
    string Churn,
    int Lookups,
    int FoundClosest,
    int ExactK,
    int RoundsP50,
    int RoundsP99,
    double MessagesMean,
    int MessagesP99,
    double LatencyP50Ms,
    double LatencyP99Ms,
    TimeSpan JoinWall,
    TimeSpan LookupWall,
    long Datagrams,
    int Seed,
    long IdentityProofs);

/// <summary>The figures of one durability experiment (<see cref="SimulationExperiments.Durability"/>).</summary>
/// <param name="Nodes">Swarm size (kept constant under churn).</param>
/// <param name="Duration">Virtual time the swarm ran after the records were stored.</param>
/// <param name="LossRate">Datagram loss, 0..1.</param>
/// <param name="Churn">Session model, as text.</param>
/// <param name="Records">Records stored at the start (by churning nodes).</param>
/// <param name="RecordsRetrievable">Records found at the end from a random live node.</param>
/// <param name="ProviderKeys">Keys announced at the start by stable (never leaving) providers.</param>
/// <param name="ProvidersFound">Keys whose provider was found at the end.</param>
/// <param name="Lookups">Lookups of random targets run hourly during the run.</param>
/// <param name="LookupsSucceeded">Of those, lookups whose first result was the live node closest to the target.</param>
/// <param name="BucketHealth">Mean over sampled nodes of the fraction of non-empty k-buckets holding at least one live contact.</param>
/// <param name="LiveContacts">Mean over sampled nodes of the fraction of routing-table contacts that are live.</param>
/// <param name="Joins">Nodes that joined (including the first ones).</param>
/// <param name="Departures">Nodes that left.</param>
/// <param name="Wall">Wall time of the whole run.</param>
/// <param name="Datagrams">Datagrams the network carried.</param>
/// <param name="Seed">The seed.</param>
public sealed record DurabilityResult(
    int Nodes,
    TimeSpan Duration,
    double LossRate,
    string Churn,
    int Records,
    int RecordsRetrievable,
    int ProviderKeys,
    int ProvidersFound,
    int Lookups,
    int LookupsSucceeded,
    double BucketHealth,
    double LiveContacts,
    int Joins,
    int Departures,
    TimeSpan Wall,
    long Datagrams,
    int Seed);

/// <summary>
/// The simulation experiments of issue 3: lookup rounds, messages and success against swarm size, loss and churn;
/// record and provider-record durability over days of virtual time; routing-table health. Each runs the real
/// <see cref="KademliaNode"/> on an <see cref="InMemoryNetwork"/> and is reproducible from its seed.
/// </summary>
public static class SimulationExperiments
{
    /// <summary>Joins at once while a swarm grows.</summary>
    public const int JoinConcurrency = 256;

    /// <summary>
    /// Grows a swarm of <paramref name="nodes"/> nodes, lets it settle for one self-lookup interval, then runs
    /// <paramref name="lookups"/> FIND_NODE lookups of random targets from random nodes and checks each against
    /// brute force over the live nodes.
    /// </summary>
    /// <param name="nodes">Swarm size.</param>
    /// <param name="lookups">Lookups to run.</param>
    /// <param name="seed">Seed of everything.</param>
    /// <param name="lossRate">Datagram loss during the lookups (the swarm grows without loss).</param>
    /// <param name="churn">Session model applied from the end of growth (1 h of churn before the lookups), or null.</param>
    /// <param name="latency">Latency model; null = <see cref="LatencyModel.WideArea"/>.</param>
    /// <returns>The figures.</returns>
    public static LookupExperimentResult Lookups(int nodes, int lookups, int seed, double lossRate = 0, SessionModel? churn = null, LatencyModel? latency = null)
    {
        latency ??= LatencyModel.WideArea();
        var options = new KademliaOptions();
        var swarm = new SimulatedSwarm(seed, latency, 0, options);
        var wall = Stopwatch.StartNew();
        swarm.Simulator.Run(() => swarm.GrowAsync(nodes, JoinConcurrency));
        swarm.Simulator.RunFor(options.SelfLookupInterval + options.MaintenanceInterval);
        swarm.Network.LossRate = lossRate;
        if (churn is not null)
        {
            swarm.Simulator.Run(() =>
            {
                swarm.StartChurn(churn);
                return Task.CompletedTask;
            });
            swarm.Simulator.RunFor(TimeSpan.FromHours(1));
        }

        var joinWall = wall.Elapsed;
        wall.Restart();
        var targets = new Random(seed ^ 0x5EED);
        var rounds = new List<int>(lookups);
        var messages = new List<int>(lookups);
        var durations = new List<double>(lookups);
        var found = 0;
        var exact = 0;
        swarm.Simulator.Run(async () =>
        {
            for (var i = 0; i < lookups; i++)
            {
                var target = NodeId.Random(targets);
                var from = swarm[targets.Next(swarm.Count)];
                var result = await from.FindNodeAsync(target);
                var truth = swarm.TrueClosest(target, options.BucketSize);
                found += result.Closest.Count > 0 && result.Closest[0].Id == truth[0] ? 1 : 0;
                exact += result.Closest.Select(c => c.Id).SequenceEqual(truth) ? 1 : 0;
                rounds.Add(result.Rounds);
                messages.Add(result.MessagesSent);
                durations.Add(result.Elapsed.TotalMilliseconds);
            }
        });
        ThrowIfBroken(swarm);
        return new LookupExperimentResult(
            nodes,
            latency.ToString()!,
            lossRate,
            churn?.ToString() ?? "none",
            lookups,
            found,
            exact,
            Percentile(rounds, 0.50),
            Percentile(rounds, 0.99),
            messages.Average(),
            Percentile(messages, 0.99),
            Percentile(durations, 0.50),
            Percentile(durations, 0.99),
            joinWall,
            wall.Elapsed,
            swarm.Network.Sent,
            seed,
            Enumerable.Range(0, swarm.Count).Sum(i => swarm[i].GetStatistics().IdentityProofsAccepted));
    }

    /// <summary>
    /// Grows a swarm, stores <paramref name="records"/> immutable records from random (churning) nodes and has
    /// <paramref name="providerKeys"/> keys announced by stable providers, then runs <paramref name="duration"/> of
    /// virtual time with churn and loss (republish, replication, refresh and expiry all running), with a few lookups
    /// every hour; at the end it looks every record and provider key up from a random live node.
    /// </summary>
    /// <param name="nodes">Swarm size (constant under churn).</param>
    /// <param name="duration">Virtual time to run, e.g. 48 h.</param>
    /// <param name="lossRate">Datagram loss, 0..1.</param>
    /// <param name="sessions">Session model of the churning nodes.</param>
    /// <param name="records">Records stored at the start.</param>
    /// <param name="providerKeys">Provider keys announced at the start by stable providers (one each).</param>
    /// <param name="lookupsPerHour">Lookups of random targets run each hour.</param>
    /// <param name="seed">Seed of everything.</param>
    /// <param name="republishInterval">How often publishers and providers republish; null = the default (22 h). Provider
    /// records are not replicated by the nodes holding them (a holder cannot announce for another node), so under churn
    /// they last only as long as the provider re-announces them often enough.</param>
    /// <returns>The figures.</returns>
    public static DurabilityResult Durability(int nodes, TimeSpan duration, double lossRate, SessionModel sessions, int records, int providerKeys, int lookupsPerHour, int seed, TimeSpan? republishInterval = null)
    {
        // Records must outlive the run: what keeps them is replication among holders, not their TTL.
        var options = new KademliaOptions { RecordTtl = duration + TimeSpan.FromDays(1) };
        options.RepublishInterval = republishInterval ?? options.RepublishInterval;
        var swarm = new SimulatedSwarm(seed, LatencyModel.WideArea(), 0, options);
        var wall = Stopwatch.StartNew();
        var providers = new List<KademliaNode>();
        swarm.Simulator.Run(async () =>
        {
            await swarm.GrowAsync(nodes - providerKeys, JoinConcurrency);
            providers = await swarm.GrowAsync(providerKeys, JoinConcurrency, stable: true);
        });
        swarm.Simulator.RunFor(options.SelfLookupInterval + options.MaintenanceInterval);
        swarm.Network.LossRate = lossRate;
        swarm.Simulator.Run(() =>
        {
            swarm.StartChurn(sessions);
            return Task.CompletedTask;
        });

        var work = new Random(seed ^ 0xD07A);
        var stored = new List<DhtRecord>(records);
        var provided = new List<(NodeId Key, NodeId Provider)>(providerKeys);
        swarm.Simulator.Run(async () =>
        {
            for (var i = 0; i < records; i++)
            {
                var value = new byte[64];
                work.NextBytes(value);
                var record = DhtRecord.CreateImmutable(value, swarm.Simulator.GetUtcNow() + options.RecordTtl);
                await swarm.RandomNode().PutAsync(record);
                stored.Add(record);
            }

            foreach (var provider in providers)
            {
                var key = NodeId.Random(work);
                await provider.ProvideAsync(key);
                provided.Add((key, provider.Id));
            }
        });

        var lookups = 0;
        var succeeded = 0;
        for (var hour = 0; hour < (int)Math.Ceiling(duration.TotalHours); hour++)
        {
            swarm.Simulator.RunFor(TimeSpan.FromHours(1));
            swarm.Simulator.Run(async () =>
            {
                for (var i = 0; i < lookupsPerHour; i++)
                {
                    var target = NodeId.Random(work);
                    var result = await swarm.RandomNode().FindNodeAsync(target);
                    lookups++;
                    succeeded += result.Closest.Count > 0 && result.Closest[0].Id == swarm.TrueClosest(target, 1)[0] ? 1 : 0;
                }
            });
        }

        var retrievable = 0;
        var providersFound = 0;
        swarm.Simulator.Run(async () =>
        {
            foreach (var record in stored)
            {
                var got = await swarm.RandomNode().GetAsync(record.Key);
                retrievable += got.Record is not null && got.Record.Value.Span.SequenceEqual(record.Value.Span) ? 1 : 0;
            }

            foreach (var (key, provider) in provided)
            {
                var got = await swarm.RandomNode().GetProvidersAsync(key, 20);
                providersFound += got.Providers.Any(p => p.ProviderId == provider) ? 1 : 0;
            }
        });
        var (bucketHealth, liveContacts) = RoutingHealth(swarm, work, sample: 100);
        ThrowIfBroken(swarm);
        return new DurabilityResult(
            nodes,
            duration,
            lossRate,
            sessions.ToString()!,
            records,
            retrievable,
            providerKeys,
            providersFound,
            lookups,
            succeeded,
            bucketHealth,
            liveContacts,
            swarm.Joins,
            swarm.Departures,
            wall.Elapsed,
            swarm.Network.Sent,
            seed);
    }

    /// <summary>
    /// Measures routing-table health on <paramref name="sample"/> random live nodes: the fraction of non-empty k-buckets
    /// that hold at least one live contact, and the fraction of contacts that are live.
    /// </summary>
    /// <param name="swarm">The swarm.</param>
    /// <param name="random">Picks the sample.</param>
    /// <param name="sample">Nodes to sample.</param>
    /// <returns>Both fractions, 0..1.</returns>
    public static (double BucketHealth, double LiveContacts) RoutingHealth(SimulatedSwarm swarm, Random random, int sample)
    {
        var live = swarm.LiveIds().ToHashSet();
        double health = 0, liveFraction = 0;
        for (var i = 0; i < sample; i++)
        {
            var node = swarm[random.Next(swarm.Count)];
            var contacts = node.GetContacts();
            var buckets = contacts.GroupBy(c => node.Id.CommonPrefixLength(c.Id)).ToList();
            health += buckets.Count == 0 ? 0 : buckets.Count(b => b.Any(c => live.Contains(c.Id))) / (double)buckets.Count;
            liveFraction += contacts.Count == 0 ? 0 : contacts.Count(c => live.Contains(c.Id)) / (double)contacts.Count;
        }

        return (health / sample, liveFraction / sample);
    }

    private static void ThrowIfBroken(SimulatedSwarm swarm)
    {
        if (swarm.Simulator.OffThreadCalls != 0 || swarm.ChurnErrors.Count != 0)
        {
            throw new InvalidOperationException($"seed {swarm.Seed}: the simulation is unsound: {swarm.Simulator.OffThreadCalls} off-thread calls, {swarm.ChurnErrors.Count} churn errors ({swarm.ChurnErrors.FirstOrDefault()?.Message})");
        }
    }

    private static T Percentile<T>(List<T> values, double p)
    {
        var sorted = values.Order().ToList();
        return sorted[Math.Min(sorted.Count - 1, (int)(p * sorted.Count))];
    }
}
