using System.Net;
using Google.Protobuf;
using Overlay.Kademlia.Internal;
using Overlay.Kademlia.Wire;
using Overlay.Testing.Simulation;

namespace Overlay.Kademlia.Tests;

/// <summary>
/// Identity proofs in the 200-node simulated swarm (virtual time, one seed): nodes that claim an ID they cannot prove
/// never enter a routing table, however they answer the challenge, while every honest node does.
/// </summary>
public sealed class IdentityProofSimulationTests
{
    /// <summary>How an impostor answers a challenge PING.</summary>
    public enum Forgery
    {
        /// <summary>Claims a random ID and shows an honest node's key with its own valid signature: the key is not the ID's.</summary>
        ForeignKey,

        /// <summary>Claims an honest node's ID with that node's key and 64 random bytes as the signature.</summary>
        WrongSignature,

        /// <summary>Claims an honest node's ID and replays that node's genuine proof for an earlier challenge from the same verifier.</summary>
        ReplayedProof,

        /// <summary>Claims a random ID and sends PONGs without any proof.</summary>
        NoProof,
    }

    [Fact]
    public void Impostors_NeverEnterARoutingTable_WhileEveryHonestNodeDoes()
    {
        const int honest = 200;
        const int perForgery = 5;
        var swarm = new SimulatedSwarm(seed: 4242, LatencyModel.WideArea());
        var options = new KademliaOptions();
        var impostors = new List<ImpostorTransport>();
        swarm.Simulator.Run(async () =>
        {
            await swarm.GrowAsync(honest, SimulationExperiments.JoinConcurrency);
            var honestNodes = Enumerable.Range(0, honest).Select(i => swarm[i]).ToList();
            var draw = new Random(4243);
            foreach (var forgery in Enum.GetValues<Forgery>())
            {
                for (var i = 0; i < perForgery; i++)
                {
                    var victim = honestNodes[draw.Next(honest)];
                    await swarm.JoinWrappedAsync(inner =>
                    {
                        var impostor = new ImpostorTransport(inner, forgery, victim, NodeId.Random(draw));
                        impostors.Add(impostor);
                        return impostor;
                    });
                }
            }
        });

        // Two self-lookup intervals: impostors look themselves up and refresh their buckets, so every honest node they
        // ask is asked to take them in, and asks them to prove it (again after its 10-minute cooldown).
        swarm.Simulator.RunFor(2 * (options.SelfLookupInterval + options.MaintenanceInterval));

        var honestNodes = Enumerable.Range(0, swarm.Count).Select(i => swarm[i]).Where(n => !impostors.Exists(m => m.LocalEndPoint.Equals(n.LocalContact.EndPoint))).ToList();
        var impostorEndPoints = impostors.Select(i => i.LocalEndPoint).ToHashSet();
        var tables = honestNodes.Select(n => n.GetContacts()).ToList();
        var admitted = tables.SelectMany(t => t).Where(c => impostorEndPoints.Contains(c.EndPoint)).ToList();
        var known = tables.SelectMany(t => t).Select(c => c.Id).ToHashSet();
        var statistics = honestNodes.Select(n => n.GetStatistics()).ToList();

        Assert.Equal(honest, honestNodes.Count);
        Assert.True(admitted.Count == 0, $"seed {swarm.Seed}: impostors in routing tables: {string.Join(", ", admitted.Take(5))}");
        Assert.True(honestNodes.All(n => known.Contains(n.Id)), $"seed {swarm.Seed}: {honestNodes.Count(n => !known.Contains(n.Id))} honest nodes in no routing table");

        // Every impostor was challenged and answered with its forgery: the proofs were checked and refused, not avoided.
        Assert.All(impostors, i => Assert.True(i.Forged > 0, $"seed {swarm.Seed}: the {i.Forgery} impostor at {i.LocalEndPoint} was never challenged"));
        Assert.True(statistics.Sum(s => s.IdentityProofsRejected) >= 3 * perForgery, $"seed {swarm.Seed}: only {statistics.Sum(s => s.IdentityProofsRejected)} proofs rejected");
        Assert.True(statistics.Sum(s => s.IdentityProofsAccepted) >= honest * options.BucketSize, $"seed {swarm.Seed}: only {statistics.Sum(s => s.IdentityProofsAccepted)} proofs accepted");
    }

    /// <summary>
    /// Plays an impostor around a real node's attachment: every envelope it sends but its PINGs claims <c>claimed</c> as
    /// its sender ID, and every PONG carries the forgery instead of the node's own proof. It reads the PINGs it receives, so a
    /// replay uses the real verifier's ID.
    /// </summary>
    private sealed class ImpostorTransport : IMessageTransport
    {
        private readonly InMemoryTransport _inner;
        private readonly Imitated _victim;
        private readonly ByteString _claimed;
        private readonly Dictionary<IPEndPoint, NodeId> _verifiers = [];
        private readonly Random _random = new(17);

        public ImpostorTransport(InMemoryTransport inner, Forgery forgery, KademliaNode victim, NodeId randomId)
        {
            _inner = inner;
            Forgery = forgery;
            _victim = new Imitated(victim.Identity);
            _claimed = ByteString.CopyFrom((forgery is Forgery.WrongSignature or Forgery.ReplayedProof ? victim.Id : randomId).ToArray());
        }

        public Forgery Forgery { get; }

        public int Forged { get; private set; }

        public IPEndPoint LocalEndPoint => _inner.LocalEndPoint;

        public bool RequiresAsynchronousContinuations => _inner.RequiresAsynchronousContinuations;

        public void Start(DatagramHandler handler) => _inner.Start((remote, datagram) =>
        {
            var envelope = Envelope.Parser.ParseFrom(datagram);
            if (envelope.BodyCase == Envelope.BodyOneofCase.Ping && NodeId.TryFromBytes(envelope.SenderId.Span, out var verifier))
            {
                _verifiers[remote] = verifier;
            }

            handler(remote, datagram);
        });

        public void Send(IPEndPoint remote, ReadOnlySpan<byte> datagram)
        {
            var envelope = Envelope.Parser.ParseFrom(datagram);

            // Its own PINGs keep its real ID, which the proofs it asks for are bound to, so that its honest node can
            // verify the nodes it joins through and take part; everything else claims the ID it cannot prove.
            if (envelope.BodyCase != Envelope.BodyOneofCase.Ping)
            {
                envelope.SenderId = _claimed;
            }

            if (envelope.BodyCase == Envelope.BodyOneofCase.Pong && !envelope.Pong.Signature.IsEmpty)
            {
                Forge(remote, envelope.Pong);
                Forged++;
            }

            _inner.Send(remote, envelope.ToByteArray());
        }

        public ValueTask DisposeAsync() => _inner.DisposeAsync();

        private void Forge(IPEndPoint remote, PingResponse pong)
        {
            switch (Forgery)
            {
                case Forgery.ForeignKey:
                    pong.PublicKey = ByteString.CopyFrom(_victim.Identity.PublicKey.Span);
                    break;
                case Forgery.WrongSignature:
                    pong.PublicKey = ByteString.CopyFrom(_victim.Identity.PublicKey.Span);
                    var noise = new byte[NodeIdentity.SignatureLength];
                    _random.NextBytes(noise);
                    pong.Signature = ByteString.CopyFrom(noise);
                    break;
                case Forgery.ReplayedProof:
                    pong.PublicKey = ByteString.CopyFrom(_victim.Identity.PublicKey.Span);
                    pong.Signature = ByteString.CopyFrom(_victim.OldProofFor(_verifiers.GetValueOrDefault(remote)));
                    break;
                case Forgery.NoProof:
                    pong.PublicKey = ByteString.Empty;
                    pong.Signature = ByteString.Empty;
                    break;
            }
        }
    }

    /// <summary>The honest node an impostor imitates: its genuine proofs for an earlier challenge, one per verifier.</summary>
    private sealed class Imitated(NodeIdentity identity)
    {
        private readonly byte[] _oldChallenge = IdentityProof.NewChallenge();

        public NodeIdentity Identity { get; } = identity;

        public byte[] OldProofFor(NodeId verifier) => IdentityProof.Sign(Identity, _oldChallenge, verifier);
    }
}
