using System.Net;
using Overlay.Transport.Sessions;

namespace Overlay.Transport.Tests;

/// <summary><see cref="UdpSessionEndpoint"/> on an in-memory wire in explicit time: handshakes, data, replay and
/// forgery drops, roaming, retransmissions, keepalives, loss, cookies under load, the 3× rule and key phases.</summary>
public sealed class UdpSessionEndpointTests : IDisposable
{
    private static readonly IPEndPoint AliceAddress = new(IPAddress.Parse("10.0.0.1"), 1000);
    private static readonly IPEndPoint BobAddress = new(IPAddress.Parse("10.0.0.2"), 2000);
    private static readonly NodeIdentity AliceId = Identity(11);
    private static readonly NodeIdentity BobId = Identity(12);

    private readonly Wire _wire = new();
    private readonly Peer _alice;
    private readonly Peer _bob;
    private TimeSpan _now;

    public UdpSessionEndpointTests()
    {
        _alice = new Peer(_wire, AliceAddress, AliceId, new SessionOptions());
        _bob = new Peer(_wire, BobAddress, BobId, new SessionOptions());
    }

    [Fact]
    public void Handshake_EstablishesBothSides_WithProvenIds_AndDataFlowsBothWays()
    {
        var (a, b) = Establish();
        Assert.Equal(BobId.Id, a.RemoteId);
        Assert.Equal(AliceId.Id, b.RemoteId);
        Assert.True(a.IsInitiator && !b.IsInitiator);

        _alice.Endpoint.Send(a, "to bob"u8, _now);
        _wire.Flush(_now);
        _bob.Endpoint.Send(b, "to alice"u8, _now);
        _wire.Flush(_now);
        Assert.Equal(["to bob"], _bob.Received);
        Assert.Equal(["to alice"], _alice.Received);
    }

    [Theory]
    [InlineData(SessionCipherSuites.ChaChaPoly | SessionCipherSuites.AesGcm, SessionCipherSuites.ChaChaPoly | SessionCipherSuites.AesGcm, SessionCipherSuites.AesGcm)]
    [InlineData(SessionCipherSuites.ChaChaPoly | SessionCipherSuites.AesGcm, SessionCipherSuites.ChaChaPoly, SessionCipherSuites.ChaChaPoly)]
    [InlineData(SessionCipherSuites.ChaChaPoly, SessionCipherSuites.ChaChaPoly | SessionCipherSuites.AesGcm, SessionCipherSuites.ChaChaPoly)]
    public void EachSuite_CarriesDataBothWays_AndAcrossAKeyPhase(SessionCipherSuites aliceSuites, SessionCipherSuites bobSuites, SessionCipherSuites expected)
    {
        using var alice = new Peer(_wire, new IPEndPoint(IPAddress.Parse("10.0.1.1"), 1000), AliceId, new SessionOptions { CipherSuites = aliceSuites, RekeyAfterBytes = 10 });
        using var bob = new Peer(_wire, new IPEndPoint(IPAddress.Parse("10.0.1.2"), 2000), BobId, new SessionOptions { CipherSuites = bobSuites });
        alice.Endpoint.Connect(bob.Address, BobId.Id, _now);
        _wire.Flush(_now);
        var a = Assert.Single(alice.Endpoint.Sessions);
        var b = Assert.Single(bob.Endpoint.Sessions);
        Assert.Equal(expected, a.CipherSuite);
        Assert.Equal(expected, b.CipherSuite);

        foreach (var text in new[] { "first, key phase 0", "second, key phase 1" })
        {
            alice.Endpoint.Send(a, System.Text.Encoding.UTF8.GetBytes(text), _now);
            _wire.Flush(_now);
        }

        bob.Endpoint.Send(b, "to alice"u8, _now);
        _wire.Flush(_now);
        Assert.Equal(1, a.Rekeys);
        Assert.Equal(["first, key phase 0", "second, key phase 1"], bob.Received);
        Assert.Equal(["to alice"], alice.Received);
    }

    [Fact]
    public void AnInitiationOfferingNoSuiteTheResponderAccepts_IsRefused_AndCounted()
    {
        // A future version's suite only (a reserved bit), then AESGCM alone at a responder without it.
        var message = new byte[Overlay.Transport.Sessions.Noise.SecureHandshake.Message1Bytes];
        message[0] = 0x80;
        message[1] = 9;
        var packet = new byte[SessionPacket.MinInitiationBytes];
        SessionPacket.WriteInitiation(packet, 77, default, message);
        Deliver(_bob, packet);
        Assert.Equal(1, _bob.Endpoint.GetDropCount(SessionDrop.UnsupportedSuite));
        Assert.Equal(0, _bob.Endpoint.PendingResponses);
        Assert.DoesNotContain(_wire.Sent, p => p.Packet[0] == 0xD2);

        using var aesOnly = new Peer(_wire, new IPEndPoint(IPAddress.Parse("10.0.1.1"), 1000), AliceId, new SessionOptions { CipherSuites = SessionCipherSuites.AesGcm });
        using var chaChaOnly = new Peer(_wire, new IPEndPoint(IPAddress.Parse("10.0.1.2"), 2000), BobId, new SessionOptions { CipherSuites = SessionCipherSuites.ChaChaPoly });
        aesOnly.Endpoint.Connect(chaChaOnly.Address, BobId.Id, _now);
        _wire.Flush(_now);
        Assert.Equal(1, chaChaOnly.Endpoint.GetDropCount(SessionDrop.UnsupportedSuite));
        Assert.Empty(aesOnly.Endpoint.Sessions);
        Assert.Empty(chaChaOnly.Endpoint.Sessions);
    }

    [Theory]
    [InlineData(0xD1)]
    [InlineData(0xD2)]
    public void ATamperedSuiteByte_FailsTheHandshake_AndNoSessionIsMade(int packetType)
    {
        // Both ends have AES-GCM; an on-path attacker rewrites the offer (initiation) or the choice (response) to
        // ChaChaPoly. The offer byte follows the 6-byte header (no cookie here); the choice follows the 9-byte header.
        var both = SessionCipherSuites.ChaChaPoly | SessionCipherSuites.AesGcm;
        using var alice = new Peer(_wire, new IPEndPoint(IPAddress.Parse("10.0.1.1"), 1000), AliceId, new SessionOptions { CipherSuites = both });
        using var bob = new Peer(_wire, new IPEndPoint(IPAddress.Parse("10.0.1.2"), 2000), BobId, new SessionOptions { CipherSuites = both });
        _wire.Tap = (_, packet) =>
        {
            if (packet[0] == packetType)
            {
                packet[packetType == 0xD1 ? 6 : SessionPacket.ResponseHeaderBytes] = (byte)SessionCipherSuites.ChaChaPoly;
            }

            return packet;
        };
        alice.Endpoint.Connect(bob.Address, BobId.Id, _now);
        _wire.Flush(_now);
        Assert.Empty(alice.Endpoint.Sessions);
        Assert.Empty(bob.Endpoint.Sessions);
        Assert.Equal(1, alice.Endpoint.GetDropCount(SessionDrop.HandshakeFailed));
        Assert.Equal([SessionCloseReason.HandshakeFailed], alice.Closed);
    }

    [Fact]
    public void SendingUnderChosenNumbers_DeliversThoseNumbers_AndRefusesOneAlreadyUsed()
    {
        var (a, _) = Establish();
        Assert.True(_alice.Endpoint.Send(a, "five"u8, 5, _now));
        Assert.True(_alice.Endpoint.Send(a, "keepalive-style"u8, _now));
        Assert.False(_alice.Endpoint.Send(a, "six again"u8, 6, _now));
        Assert.False(_alice.Endpoint.Send(a, "three"u8, 3, _now));
        Assert.True(_alice.Endpoint.Send(a, "nine"u8, 9, _now));
        _wire.Flush(_now);
        Assert.Equal(["five", "keepalive-style", "nine"], _bob.Received);
        Assert.Equal([5UL, 6UL, 9UL], _bob.ReceivedNumbers);
    }

    [Fact]
    public void DiallingTheWrongId_ClosesTheHandshake_AndNoSessionIsMade()
    {
        _alice.Endpoint.Connect(BobAddress, AliceId.Id, _now);
        _wire.Flush(_now);
        Assert.Empty(_alice.Endpoint.Sessions);
        Assert.Empty(_bob.Endpoint.Sessions);
        Assert.Equal([SessionCloseReason.HandshakeFailed], _alice.Closed);
    }

    [Fact]
    public void TamperedReplayedAndFarReorderedPackets_AreDroppedAndCounted_ReorderedInsideTheWindowAccepted()
    {
        var (a, _) = Establish();
        var captured = new List<byte[]>();
        _wire.Tap = (to, packet) => { captured.Add(packet); return null; };
        for (var i = 0; i < 3000; i++)
        {
            _alice.Endpoint.Send(a, [(byte)(i % 256)], _now);
        }

        _wire.Tap = null;
        _wire.Flush(_now);

        // Deliver #2999, then #2000 (inside the window), then #0 (beyond it), then #2999 again, then a tampered #2998.
        Deliver(_bob, captured[2999]);
        Deliver(_bob, captured[2000]);
        Deliver(_bob, captured[0]);
        Deliver(_bob, captured[2999]);
        var tampered = (byte[])captured[2998].Clone();
        tampered[^1] ^= 1;
        Deliver(_bob, tampered);
        Deliver(_bob, captured[2998][..^1]);

        Assert.Equal(2, _bob.Received.Count);
        Assert.Equal(2, _bob.Endpoint.GetDropCount(SessionDrop.Replay));
        Assert.Equal(2, _bob.Endpoint.GetDropCount(SessionDrop.Forged));
        var session = Assert.Single(_bob.Endpoint.Sessions);
        Assert.Equal(2, session.ReplaysDropped);
        Assert.Equal(2, session.ForgeriesDropped);
        Deliver(_bob, captured[2998]);
        Assert.Equal(3, _bob.Received.Count);
    }

    [Fact]
    public void AnAuthenticatedPacketFromANewAddress_MovesTheSession_AForgedOneDoesNot()
    {
        var (a, b) = Establish();
        var moved = new IPEndPoint(IPAddress.Parse("10.0.0.99"), 4321);
        _wire.RewriteSource = (from, packet) => from.Equals(AliceAddress) ? moved : from;
        _wire.Redirect[moved] = AliceAddress;

        var forged = new byte[40];
        forged[0] = 0xD5;
        BitConverter.TryWriteBytes(forged.AsSpan(1), b.LocalIndex);
        _bob.Endpoint.Receive(new IPEndPoint(IPAddress.Parse("10.6.6.6"), 666), forged, _now);
        Assert.Equal(BobAddress, a.RemoteEndPoint);
        Assert.Equal(AliceAddress, b.RemoteEndPoint);

        _alice.Endpoint.Send(a, "after rebinding"u8, _now);
        _wire.Flush(_now);
        Assert.Equal(moved, b.RemoteEndPoint);
        Assert.Equal(1, b.PathChanges);

        // Bob's answers now go to the new address, which still reaches Alice.
        _bob.Endpoint.Send(b, "still here"u8, _now);
        _wire.Flush(_now);
        Assert.Equal(["still here"], _alice.Received);
    }

    [Fact]
    public void LostInitiations_AreRetransmitted_ThenTheHandshakeTimesOut()
    {
        _wire.Drop = (_, _) => true;
        _alice.Endpoint.Connect(BobAddress, null, _now);
        for (var i = 0; i < 10; i++)
        {
            Advance(TimeSpan.FromSeconds(1));
        }

        Assert.Equal(5, _wire.Sent.Count(p => p.Packet[0] == 0xD1));
        Assert.Equal([SessionCloseReason.HandshakeTimeout], _alice.Closed);
        Assert.Equal(0, _alice.Endpoint.PendingInitiations);
    }

    [Fact]
    public void ALostResponse_IsAnsweredAgain_WithTheSameBytes()
    {
        var dropped = 0;
        _wire.Drop = (_, packet) => packet[0] == 0xD2 && dropped++ == 0;
        _alice.Endpoint.Connect(BobAddress, null, _now);
        _wire.Flush(_now);
        Assert.Empty(_alice.Endpoint.Sessions);
        Advance(TimeSpan.FromSeconds(1));
        Assert.Single(_alice.Endpoint.Sessions);
        Assert.Single(_bob.Endpoint.Sessions);
        var responses = _wire.Sent.Where(p => p.Packet[0] == 0xD2).Select(p => Convert.ToHexString(p.Packet)).ToList();
        Assert.Equal(2, responses.Count);
        Assert.Equal(responses[0], responses[1]);
    }

    [Fact]
    public void ALostMessage3_IsResent_UntilTheResponderHasTheSession()
    {
        var dropped = 0;
        _wire.Drop = (_, packet) => packet[0] == 0xD3 && dropped++ == 0;
        _alice.Endpoint.Connect(BobAddress, null, _now);
        _wire.Flush(_now);
        Assert.Single(_alice.Endpoint.Sessions);
        Assert.Empty(_bob.Endpoint.Sessions);
        Advance(TimeSpan.FromSeconds(1));
        var b = Assert.Single(_bob.Endpoint.Sessions);
        _bob.Endpoint.Send(b, "hi"u8, _now);
        _wire.Flush(_now);
        Advance(TimeSpan.FromSeconds(3));
        Assert.Equal(2, _wire.Sent.Count(p => p.Packet[0] == 0xD3));
    }

    [Fact]
    public void KeepalivesFlowWhileQuiet_AndASilentPeerIsLost()
    {
        var (a, b) = Establish();
        for (var i = 0; i < 60; i++)
        {
            Advance(TimeSpan.FromSeconds(1));
        }

        Assert.Single(_alice.Endpoint.Sessions);
        Assert.True(_wire.Sent.Count(p => p.Packet[0] is 0xD5 or 0xD6) >= 6, "keepalives both ways every 15 s");
        Assert.Empty(_alice.Received);

        _wire.Drop = (_, _) => true;
        for (var i = 0; i < 46; i++)
        {
            Advance(TimeSpan.FromSeconds(1));
        }

        Assert.Empty(_alice.Endpoint.Sessions);
        Assert.Equal([SessionCloseReason.Lost], _alice.Closed);
        Assert.Equal([SessionCloseReason.Lost], _bob.Closed);
        Assert.False(_alice.Endpoint.Send(a, "gone"u8, _now));
        Assert.NotNull(b);
    }

    [Fact]
    public void UnderLoad_InitiationsMustEchoACookie_AndStillConnect()
    {
        using var bob = new Peer(_wire, new IPEndPoint(IPAddress.Parse("10.0.0.3"), 3000), BobId, new SessionOptions { CookieThreshold = 0 });
        _alice.Endpoint.Connect(bob.Address, BobId.Id, _now);
        _wire.Flush(_now);
        Assert.Equal(1, bob.Endpoint.GetDropCount(SessionDrop.CookieRequired));
        Assert.Single(_alice.Endpoint.Sessions);
        Assert.Single(bob.Endpoint.Sessions);
        var initiations = _wire.Sent.Where(p => p.Packet[0] == 0xD1).ToList();
        Assert.Equal(2, initiations.Count);
        Assert.Equal(0, initiations[0].Packet[5]);
        Assert.Equal(16, initiations[1].Packet[5]);
    }

    [Fact]
    public void SpoofedInitiationFlood_GetsAtMostThreeTimesItsBytes_WithAndWithoutCookies()
    {
        foreach (var threshold in new[] { 64, 0 })
        {
            var wire = new Wire();
            using var victimView = new Peer(wire, new IPEndPoint(IPAddress.Parse("10.9.9.9"), 9), AliceId, new SessionOptions());
            using var target = new Peer(wire, BobAddress, BobId, new SessionOptions { CookieThreshold = threshold });
            var random = new Random(threshold);
            long received = 0;
            for (var i = 0; i < 200; i++)
            {
                var packet = new byte[SessionPacket.MinInitiationBytes];
                var message = new byte[SessionPacket.InitiationHandshakeBytes];
                random.NextBytes(message);
                message[0] = (byte)SessionCipherSuites.ChaChaPoly;
                SessionPacket.WriteInitiation(packet, (uint)i, [], message);
                received += packet.Length;
                target.Endpoint.Receive(victimView.Address, packet, _now);
            }

            var sentToVictim = wire.Sent.Where(p => p.To.Equals(victimView.Address)).Sum(p => (long)p.Packet.Length);
            Assert.True(sentToVictim <= 3 * received, $"threshold {threshold}: {sentToVictim} bytes sent for {received} received");
            Assert.True(target.Endpoint.PendingResponses <= Math.Max(threshold, 0));
        }
    }

    [Fact]
    public void AfterRekeyTime_TheSenderMovesToTheNextKeyPhase_AndLatePacketsOfTheOldPhaseStillOpen()
    {
        var (a, _) = Establish();
        _alice.Endpoint.Send(a, "phase 0"u8, _now);
        var late = _wire.TakeQueued();
        for (var i = 0; i < 120; i++)
        {
            Advance(TimeSpan.FromSeconds(1));
        }

        _alice.Endpoint.Send(a, "phase 1"u8, _now);
        _wire.Flush(_now);
        Assert.Equal(1, a.Rekeys);
        Assert.Equal(1, a.SendKeyPhase);
        foreach (var (to, packet) in late)
        {
            Deliver(_bob, packet);
        }

        Assert.Contains("phase 1", _bob.Received);
        Assert.Contains("phase 0", _bob.Received);
        _alice.Endpoint.Send(a, "phase 1 again"u8, _now);
        _wire.Flush(_now);
        Assert.Contains("phase 1 again", _bob.Received);
    }

    [Fact]
    public void RandomPackets_NeverThrow_AndAreCounted()
    {
        Establish();
        var random = new Random(77);
        for (var i = 0; i < 20_000; i++)
        {
            var packet = new byte[random.Next(0, 400)];
            random.NextBytes(packet);
            if (packet.Length > 0)
            {
                packet[0] = (byte)random.Next(0xD0, 0xE0);
            }

            _bob.Endpoint.Receive(AliceAddress, packet, _now);
        }

        Assert.True(Enum.GetValues<SessionDrop>().Sum(r => _bob.Endpoint.GetDropCount(r)) > 10_000);
        Assert.Empty(_bob.Received);
    }

    public void Dispose()
    {
        _alice.Dispose();
        _bob.Dispose();
    }

    private (UdpSession Alice, UdpSession Bob) Establish()
    {
        _alice.Endpoint.Connect(BobAddress, BobId.Id, _now);
        _wire.Flush(_now);
        return (Assert.Single(_alice.Endpoint.Sessions), Assert.Single(_bob.Endpoint.Sessions));
    }

    private void Advance(TimeSpan step)
    {
        _now += step;
        foreach (var peer in _wire.Peers.Values)
        {
            peer.Endpoint.OnTimer(_now);
        }

        _wire.Flush(_now);
    }

    private void Deliver(Peer to, byte[] packet) => to.Endpoint.Receive(AliceAddress, packet, _now);

    private static NodeIdentity Identity(int seed)
    {
        var bytes = new byte[32];
        new Random(seed).NextBytes(bytes);
        return NodeIdentity.FromSeed(bytes);
    }

    /// <summary>An in-memory wire: packets queue until <see cref="Flush"/>, which delivers them (and their answers).</summary>
    private sealed class Wire
    {
        private readonly Queue<(IPEndPoint From, IPEndPoint To, byte[] Packet)> _queue = new();

        public Dictionary<IPEndPoint, Peer> Peers { get; } = [];

        public Dictionary<IPEndPoint, IPEndPoint> Redirect { get; } = [];

        public List<(IPEndPoint To, byte[] Packet)> Sent { get; } = [];

        public Func<IPEndPoint, byte[], bool>? Drop { get; set; }

        public Func<IPEndPoint, byte[], byte[]?>? Tap { get; set; }

        public Func<IPEndPoint, byte[], IPEndPoint>? RewriteSource { get; set; }

        public void Send(IPEndPoint from, IPEndPoint to, ReadOnlySpan<byte> packet)
        {
            var bytes = packet.ToArray();
            Sent.Add((to, bytes));
            if (Tap is not null)
            {
                bytes = Tap(to, bytes);
                if (bytes is null)
                {
                    return;
                }
            }

            _queue.Enqueue((RewriteSource?.Invoke(from, bytes) ?? from, to, bytes));
        }

        public List<(IPEndPoint To, byte[] Packet)> TakeQueued()
        {
            var taken = _queue.Select(q => (q.To, q.Packet)).ToList();
            _queue.Clear();
            return taken;
        }

        public void Flush(TimeSpan now)
        {
            for (var i = 0; i < 100_000 && _queue.Count > 0; i++)
            {
                var (from, to, packet) = _queue.Dequeue();
                var target = Redirect.GetValueOrDefault(to, to);
                if (Drop?.Invoke(to, packet) == true || !Peers.TryGetValue(target, out var peer))
                {
                    continue;
                }

                peer.Endpoint.Receive(from, packet, now);
            }
        }
    }

    /// <summary>One node on the wire: its endpoint and what its handler saw.</summary>
    private sealed class Peer : ISessionHandler, IMessageTransport, IDisposable
    {
        private readonly Wire _wire;

        public Peer(Wire wire, IPEndPoint address, NodeIdentity identity, SessionOptions options)
        {
            _wire = wire;
            Address = address;
            wire.Peers[address] = this;
            Endpoint = new UdpSessionEndpoint(identity, options, this, this, TimeSpan.Zero);
        }

        public IPEndPoint Address { get; }

        public UdpSessionEndpoint Endpoint { get; }

        public List<string> Received { get; } = [];

        public List<SessionCloseReason> Closed { get; } = [];

        public IPEndPoint LocalEndPoint => Address;

        public bool RequiresAsynchronousContinuations => false;

        public void OnEstablished(UdpSession session)
        {
        }

        public List<ulong> ReceivedNumbers { get; } = [];

        public void OnData(UdpSession session, ulong packetNumber, ReadOnlySpan<byte> payload)
        {
            Received.Add(System.Text.Encoding.UTF8.GetString(payload));
            ReceivedNumbers.Add(packetNumber);
        }

        public void OnClosed(UdpSession? session, IPEndPoint remote, SessionCloseReason reason) => Closed.Add(reason);

        public void Start(DatagramHandler handler)
        {
        }

        public void Send(IPEndPoint remote, ReadOnlySpan<byte> datagram) => _wire.Send(Address, remote, datagram);

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;

        public void Dispose() => Endpoint.Dispose();
    }
}
