using System.Net;
using System.Net.Sockets;
using Google.Protobuf;
using Overlay.Kademlia.Internal;
using Overlay.Kademlia.Wire;
using Overlay.Testing;

namespace Overlay.Kademlia.Tests;

/// <summary>
/// One hostile UDP socket against a real node on loopback: a flood of FIND_NODE requests, a flood of fresh sender IDs
/// that each ask for a verification PING, a mixed flood standing for a spoofed victim (the 3x rule), and one socket
/// claiming 30 node IDs. The node's clock is virtual and frozen,
/// so the rate limits' buckets do not refill during a test: what gets through is exactly the configured burst.
/// </summary>
public sealed class HostileSourceTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task FindNodeFlood_FromOneSource_IsAnsweredOnlyUpToItsRate_AndAgainOnceTheBucketRefills()
    {
        const int rate = 100;
        const int flood = 2_000;
        var clock = new ManualTimeProvider(DateTimeOffset.UtcNow);
        var options = UdpTestSwarm.LoopbackOptions();
        options.MaxRequestsPerSecondPerIp = rate;
        options.MaxVerificationsPerMinutePerIp = 0;
        options.MaxPendingVerifications = 0;
        using var bound = new CancellationTokenSource(Bound);
        await using var swarm = await UdpTestSwarm.StartAsync(3, seed: 601, options, clock, cancellationToken: bound.Token);
        var node = swarm.Nodes[0];
        using var attacker = Attacker();
        var attackerId = NodeId.Random(new Random(601));

        // A generation later (virtual): what the join counted is forgotten, so only the flood is counted.
        clock.Advance(TimeSpan.FromSeconds(1));
        var before = node.GetStatistics();

        await SendPacedAsync(attacker, node, flood, i => FindNode(attackerId, (uint)i), bound.Token);
        var afterFlood = node.GetStatistics();
        var answers = await ReceiveAnswersAsync(attacker, rate, bound.Token);
        clock.Advance(TimeSpan.FromSeconds(1));
        await SendPacedAsync(attacker, node, flood, i => FindNode(attackerId, (uint)(flood + i)), bound.Token);
        var afterRefill = node.GetStatistics();
        answers += await ReceiveAnswersAsync(attacker, rate, bound.Token);

        // Frozen time: the source's bucket holds one second's worth (rate) and does not refill until the clock moves;
        // every request past it is dropped unanswered.
        Assert.Equal(flood - rate, afterFlood.RequestsRefused - before.RequestsRefused);
        Assert.Equal(2 * (flood - rate), afterRefill.RequestsRefused - before.RequestsRefused);
        Assert.Equal(2 * rate, answers);
        Assert.Equal(0, Drain(attacker));
    }

    [Fact]
    public async Task GlobalRate_CapsAnswersToAllSourcesTogether()
    {
        const int global = 150;
        var clock = new ManualTimeProvider(DateTimeOffset.UtcNow);
        var options = UdpTestSwarm.LoopbackOptions();
        options.MaxRequestsPerSecondPerIp = 100;
        options.MaxRequestsPerSecond = global;
        options.MaxPendingVerifications = 0;
        using var bound = new CancellationTokenSource(Bound);
        await using var swarm = await UdpTestSwarm.StartAsync(2, seed: 607, options, clock, cancellationToken: bound.Token);
        var node = swarm.Nodes[0];
        using var first = Attacker();
        using var second = Attacker();
        var random = new Random(607);

        // The join took tokens from the global bucket; a second later (virtual) it is full again.
        clock.Advance(TimeSpan.FromSeconds(1));
        var before = node.GetStatistics();

        await SendPacedAsync(first, node, 100, i => FindNode(NodeId.Random(random), (uint)i), bound.Token);
        await SendPacedAsync(second, node, 100, i => FindNode(NodeId.Random(random), (uint)i), bound.Token);
        var after = node.GetStatistics();

        // Each source is within its own 100/s, but together they reach the node's 150/s.
        Assert.Equal(global, after.RequestsServed - before.RequestsServed);
        Assert.Equal(200 - global, after.RequestsRefused - before.RequestsRefused);
    }

    [Fact]
    public async Task FreshSenderIds_FromOneSource_TriggerAtMostTheConfiguredVerificationPings()
    {
        const int perMinute = 5;
        var clock = new ManualTimeProvider(DateTimeOffset.UtcNow);
        var options = UdpTestSwarm.LoopbackOptions();
        options.MaxVerificationsPerMinutePerIp = perMinute;
        using var bound = new CancellationTokenSource(Bound);
        await using var swarm = await UdpTestSwarm.StartAsync(2, seed: 613, options, clock, cancellationToken: bound.Token);
        var node = swarm.Nodes[0];
        using var victim = Attacker();
        var random = new Random(613);

        // A verification generation later (virtual): the join's verifications are forgotten.
        clock.Advance(TimeSpan.FromMinutes(1));

        // 100 requests, each from a fresh ID: every one would be worth verifying (the table has room). Padded as a first
        // contact's are (411 bytes), so the 3x rule leaves room for the PING and only the per-address cap limits it.
        await SendPacedAsync(victim, node, 100, i => FindNode(NodeId.Random(random), (uint)i, padded: true), bound.Token);
        var pings = await CollectPingsAsync(victim, node, expectAtLeast: perMinute, bound.Token);

        // Time is frozen, so no PING is retransmitted: each distinct transaction id is one verification.
        Assert.Equal(perMinute, pings.Count);
    }

    [Fact]
    public async Task OneSocket_Claiming30Ids_GetsExactlyOneIntoTheRoutingTable()
    {
        using var bound = new CancellationTokenSource(Bound);
        await using var swarm = await UdpTestSwarm.StartAsync(4, seed: 617, cancellationToken: bound.Token);
        var node = swarm.Nodes[0];
        using var sybil = Attacker();

        // Not the swarm's seed: the swarm draws its own identities from it, and the sybil would claim node 0's ID.
        var random = new Random(6170);
        var identities = Enumerable.Range(0, 30).Select(_ => NodeIdentity.FromSeed(RandomSeed(random))).ToList();
        var ids = identities.ConvertAll(i => i.Id);
        using var answering = CancellationTokenSource.CreateLinkedTokenSource(bound.Token);

        // The sybil holds the keys of all 30 IDs and answers every PING with a proven PONG under each: whichever ID the
        // node is verifying, one of them matches and proves it. Only the one-ID-per-endpoint limit is left to stop it.
        var responder = Task.Run(() => AnswerPingsAsAll(sybil, identities, answering.Token), CancellationToken.None);
        await SendPacedAsync(sybil, node, 1, _ => FindNode(ids[0], 1, padded: true), bound.Token);
        await WaitUntilAsync(() => node.GetContacts().Any(c => c.Id == ids[0]), "the sybil's first ID to enter the table", bound.Token);
        await SendPacedAsync(sybil, node, ids.Count - 1, i => FindNode(ids[i + 1], (uint)(i + 2), padded: true), bound.Token);

        // Give every other claim the chance a verification needs (PING, PONG, table update) on a busy machine.
        var settle = Task.Delay(TimeSpan.FromSeconds(3), bound.Token);
        await WaitUntilAsync(() => settle.IsCompleted || node.GetContacts().Count(c => ids.Contains(c.Id)) > 1, "a second sybil ID to enter, or 3 s", bound.Token);
        await answering.CancelAsync();
        await responder;

        var inTable = node.GetContacts().Where(c => ids.Contains(c.Id)).ToList();
        Assert.Single(inTable);
        Assert.Equal(sybil.LocalEndPoint, inTable[0].EndPoint);
    }

    [Fact]
    public async Task SpoofedFlood_FromOneSocket_GetsAtMost3xTheBytesItSent_AndLookupsDuringItSucceed()
    {
        // On loopback the IP source cannot be forged, so the socket plays the victim whose address the flood claims:
        // whatever the node sends it, answers and verification PINGs with their retransmissions, is what a spoofed
        // victim would get. A stored 1,000-byte record lets FIND_VALUE answers be large.
        const int batches = 10;
        const int batch = 100;
        var clock = new ManualTimeProvider(DateTimeOffset.UtcNow);
        using var bound = new CancellationTokenSource(Bound);
        await using var swarm = await UdpTestSwarm.StartAsync(20, seed: 619, UdpTestSwarm.LoopbackOptions(), clock, cancellationToken: bound.Token);
        var node = swarm.Nodes[0];
        var value = new byte[1000];
        new Random(619).NextBytes(value);
        var record = DhtRecord.CreateImmutable(value, clock.GetUtcNow().AddHours(1));
        await swarm.Nodes[1].PutAsync(record, bound.Token);
        using var victim = Attacker();
        var random = new Random(6190);
        var lookups = new Random(6191);

        // A verification generation later (virtual): the join's verifications are forgotten.
        clock.Advance(TimeSpan.FromMinutes(1));
        var before = node.GetStatistics();
        long sent = 0;
        var mismatches = new List<string>();
        for (var b = 0; b < batches; b++)
        {
            await SendPacedAsync(victim, node, batch, i =>
            {
                var datagram = ForgedRequests.Next(random, record.Key, (uint)(b * batch + i));
                sent += datagram.Length;
                return datagram;
            }, bound.Token);

            // An honest lookup between batches, from a node other than the flooded one, through it or not.
            var target = NodeId.Random(lookups);
            var result = await swarm.Nodes[1 + lookups.Next(19)].FindNodeAsync(target, bound.Token);
            if (!swarm.TrueClosest(target, KademliaOptions.DefaultBucketSize).SequenceEqual(result.Closest.Select(c => c.Id)))
            {
                mismatches.Add(target.ToShortString());
            }
        }

        // Let every verification PING's retransmissions go out and fail (virtual time; the socket never answers).
        for (var i = 0; i < 50; i++)
        {
            clock.Advance(TimeSpan.FromMilliseconds(100));
        }

        await WaitUntilAsync(() => node.GetStatistics().PendingRequests == 0, "the node's verification PINGs to end", bound.Token);
        var (answers, pings, received) = await ReceiveFloodAnswersAsync(victim, batches * batch, bound.Token);
        var after = node.GetStatistics();

        Assert.True(mismatches.Count == 0, $"seed 6191: lookups during the flood differ from brute force for {string.Join(", ", mismatches)}");
        Assert.Equal(batches * batch, answers);
        Assert.True(received <= WireCodec.AmplificationFactor * sent, $"the node sent {received} bytes ({answers} answers, {pings} PINGs) for {sent} received");
        Assert.True(after.AnswersTrimmed > before.AnswersTrimmed, "no answer was trimmed, so the 3x limit never bit");
    }

    private static Socket Attacker()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp) { ReceiveBufferSize = 8 * 1024 * 1024 };
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return socket;
    }

    /// <summary>A FIND_NODE for the sender's own ID; padded to 411 bytes as a node's first request to a peer is, or bare (about 80 bytes).</summary>
    private static byte[] FindNode(NodeId sender, uint transactionId, bool padded = false)
    {
        var request = new Envelope
        {
            Version = WireCodec.ProtocolVersion,
            TransactionId = transactionId,
            SenderId = ByteString.CopyFrom(sender.ToArray()),
            FindNode = new FindNodeRequest { Target = ByteString.CopyFrom(sender.ToArray()) },
        };
        if (padded)
        {
            WireCodec.Pad(request);
        }

        return request.ToByteArray();
    }

    private static byte[] RandomSeed(Random random)
    {
        var seed = new byte[32];
        random.NextBytes(seed);
        return seed;
    }

    /// <summary>Sends <paramref name="count"/> datagrams in batches of 100, each batch once the node has received the last.</summary>
    private static async Task SendPacedAsync(Socket socket, KademliaNode node, int count, Func<int, byte[]> datagram, CancellationToken cancellationToken)
    {
        for (var start = 0; start < count; start += 100)
        {
            var batch = Math.Min(100, count - start);
            var target = node.GetStatistics().DatagramsReceived + batch;
            for (var i = start; i < start + batch; i++)
            {
                socket.SendTo(datagram(i), node.LocalContact.EndPoint);
            }

            await WaitUntilAsync(() => node.GetStatistics().DatagramsReceived >= target, $"the node to receive datagrams up to {target}", cancellationToken);
        }
    }

    /// <summary>Receives <paramref name="count"/> datagrams (bounded by the token), then returns how many arrived.</summary>
    private static async Task<int> ReceiveAnswersAsync(Socket socket, int count, CancellationToken cancellationToken)
    {
        var received = 0;
        while (received < count)
        {
            received += Drain(socket);
            if (received < count)
            {
                await WaitUntilAsync(() => socket.Available > 0, $"answer {received + 1} of {count}", cancellationToken);
            }
        }

        return received;
    }

    /// <summary>
    /// Receives until <paramref name="expected"/> answers (datagrams other than PINGs) arrived, then whatever else is
    /// queued; returns the answers, the node's PINGs and the bytes of both.
    /// </summary>
    private static async Task<(int Answers, int Pings, long Bytes)> ReceiveFloodAnswersAsync(Socket socket, int expected, CancellationToken cancellationToken)
    {
        var buffer = new byte[2048];
        var answers = 0;
        var pings = 0;
        long bytes = 0;
        while (true)
        {
            while (socket.Available > 0)
            {
                var length = socket.Receive(buffer);
                bytes += length;
                if (Envelope.Parser.ParseFrom(buffer, 0, length).BodyCase == Envelope.BodyOneofCase.Ping)
                {
                    pings++;
                }
                else
                {
                    answers++;
                }
            }

            if (answers >= expected)
            {
                return (answers, pings, bytes);
            }

            await WaitUntilAsync(() => socket.Available > 0, $"answer {answers + 1} of {expected}", cancellationToken);
        }
    }

    /// <summary>Counts the datagrams waiting in the socket (the node answers on its receive thread before counting the next request).</summary>
    private static int Drain(Socket socket)
    {
        var buffer = new byte[2048];
        var count = 0;
        while (socket.Available > 0)
        {
            socket.Receive(buffer);
            count++;
        }

        return count;
    }

    /// <summary>Returns the distinct PING transaction ids received, waiting until at least <paramref name="expectAtLeast"/> arrived and the node has no verification left to send.</summary>
    private static async Task<HashSet<uint>> CollectPingsAsync(Socket socket, KademliaNode node, int expectAtLeast, CancellationToken cancellationToken)
    {
        var pings = new HashSet<uint>();
        var buffer = new byte[2048];
        while (true)
        {
            while (socket.Available > 0)
            {
                var length = socket.Receive(buffer);
                var envelope = Envelope.Parser.ParseFrom(buffer, 0, length);
                if (envelope.BodyCase == Envelope.BodyOneofCase.Ping)
                {
                    pings.Add(envelope.TransactionId);
                }
            }

            // Verifications in flight stay pending while the clock is frozen: once they are all sent, none is left to come.
            if (pings.Count >= expectAtLeast && node.GetStatistics().PendingRequests <= pings.Count)
            {
                return pings;
            }

            await Task.Delay(20, cancellationToken);
        }
    }

    private static void AnswerPingsAsAll(Socket socket, IReadOnlyList<NodeIdentity> identities, CancellationToken cancellationToken)
    {
        var buffer = new byte[2048];
        EndPoint from = new IPEndPoint(IPAddress.Any, 0);
        socket.ReceiveTimeout = 100;
        while (!cancellationToken.IsCancellationRequested)
        {
            int length;
            try
            {
                length = socket.ReceiveFrom(buffer, ref from);
            }
            catch (SocketException ex) when (ex.SocketErrorCode == SocketError.TimedOut)
            {
                continue;
            }

            var request = Envelope.Parser.ParseFrom(buffer, 0, length);
            if (request.BodyCase != Envelope.BodyOneofCase.Ping
                || request.Ping.Challenge.Length != IdentityProof.ChallengeLength
                || !NodeId.TryFromBytes(request.SenderId.Span, out var verifier))
            {
                continue;
            }

            foreach (var identity in identities)
            {
                var pong = new Envelope
                {
                    Version = WireCodec.ProtocolVersion,
                    TransactionId = request.TransactionId,
                    SenderId = ByteString.CopyFrom(identity.Id.ToArray()),
                    Pong = new PingResponse
                    {
                        PublicKey = ByteString.CopyFrom(identity.PublicKey.Span),
                        Signature = ByteString.CopyFrom(IdentityProof.Sign(identity, request.Ping.Challenge.Span, verifier)),
                    },
                };
                socket.SendTo(pong.ToByteArray(), from);
            }
        }
    }

    private static async Task WaitUntilAsync(Func<bool> condition, string what, CancellationToken cancellationToken)
    {
        while (!condition())
        {
            try
            {
                await Task.Delay(10, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"gave up waiting for {what}");
            }
        }
    }
}
