using System.Net;
using Overlay.Testing.Sessions;
using Overlay.Testing.Simulation;
using Overlay.Testing.Streams;
using Overlay.Transport.Sessions;

namespace Overlay.Transport.Tests.Sessions;

/// <summary><see cref="UdpSessionHost"/>'s own rules in virtual time: abandoned dials, one dial per endpoint, the accept
/// queue's cap, and shutdown.</summary>
public sealed class UdpSessionHostTests
{
    private static readonly NodeIdentity AliceId = Identity(31);
    private static readonly NodeIdentity BobId = Identity(32);
    private static readonly LossyLinkOptions Path = new() { Delay = TimeSpan.FromMilliseconds(50), Seed = 51 };

    [Fact]
    public void ACancelledDial_IsTakenOverByTheNextDialOfTheSameEndpoint_AndOneSessionResults() =>
        Run(async (simulator, network, alice, bob, bobSocket) =>
        {
            using var cancel = new CancellationTokenSource();
            var first = alice.ConnectAsync(bobSocket.PublicEndPoint, BobId.Id, cancel.Token);
            await Task.Delay(TimeSpan.FromMilliseconds(10), simulator);
            cancel.Cancel();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => first);

            var link = await alice.ConnectAsync(bobSocket.PublicEndPoint, BobId.Id);
            Assert.Equal(BobId.Id, link.RemoteId);
            await Task.Delay(TimeSpan.FromSeconds(1), simulator);
            Assert.Equal(1, alice.SessionCount);
            Assert.Equal(1, bob.SessionCount);
        });

    [Fact]
    public void ASecondDialWhileOneIsAwaited_IsRefused_AndAnAbandonedDialsSessionIsClosed() =>
        Run(async (simulator, _, alice, bob, bobSocket) =>
        {
            var first = alice.ConnectAsync(bobSocket.PublicEndPoint, BobId.Id);
            await Assert.ThrowsAsync<InvalidOperationException>(() => alice.ConnectAsync(bobSocket.PublicEndPoint, BobId.Id));
            await first;

            using var cancel = new CancellationTokenSource();
            var abandoned = alice.ConnectAsync(bobSocket.PublicEndPoint, BobId.Id, cancel.Token);
            cancel.Cancel();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => abandoned);
            await Task.Delay(TimeSpan.FromSeconds(1), simulator);
            Assert.Equal(1, alice.SessionCount);
        });

    [Fact]
    public void InboundSessionsPastTheAcceptQueue_AreClosedAndCounted() =>
        Run(
            async (simulator, _, alice, bob, bobSocket) =>
            {
                await alice.ConnectAsync(bobSocket.PublicEndPoint, BobId.Id);
                await alice.ConnectAsync(bobSocket.PublicEndPoint, BobId.Id);
                await Task.Delay(TimeSpan.FromSeconds(1), simulator);
                Assert.Equal(1, bob.AcceptOverflows);
                Assert.Equal(1, bob.SessionCount);
                var accepted = await bob.AcceptAsync();
                Assert.Equal(AliceId.Id, accepted.RemoteId);
            },
            new UdpSessionHostOptions { AcceptQueueCapacity = 1 });

    [Fact]
    public void DisposingTheHost_FailsAPendingDial_AndEndsLinksWithShutdown() =>
        Run(async (simulator, _, alice, bob, bobSocket) =>
        {
            var link = await alice.ConnectAsync(bobSocket.PublicEndPoint, BobId.Id);
            var pending = alice.ConnectAsync(new IPEndPoint(IPAddress.Parse("10.9.9.9"), 4000), null);
            var reading = link.ReceiveAsync(new byte[link.MaxPayloadBytes]).AsTask();
            await alice.DisposeAsync();
            Assert.Equal(SessionCloseReason.Shutdown, (await Assert.ThrowsAsync<UdpSessionException>(() => pending)).Reason);
            Assert.Equal(SessionCloseReason.Shutdown, (await Assert.ThrowsAsync<UdpSessionException>(() => reading)).Reason);
            Assert.Equal(SessionCloseReason.Shutdown, link.EndReason);
            await Assert.ThrowsAsync<UdpSessionException>(async () => await link.SendAsync(new byte[10], 0));
        });

    [Fact]
    public void Options_OutOfRange_AreRefusedWithTheirName()
    {
        var simulator = new Simulator();
        var socket = new LossyDatagramNetwork(simulator, Path).Attach();
        var error = Assert.Throws<ArgumentException>(() => new UdpSessionHost(AliceId, socket, new UdpSessionHostOptions { LinkQueueCapacity = 1 }, simulator));
        Assert.Contains("LinkQueueCapacity", error.Message, StringComparison.Ordinal);
    }

    private static void Run(Func<Simulator, LossyDatagramNetwork, UdpSessionHost, UdpSessionHost, LossyDatagramTransport, Task> body, UdpSessionHostOptions? options = null)
    {
        var simulator = new Simulator();
        simulator.Run(async () =>
        {
            var network = new LossyDatagramNetwork(simulator, Path);
            var aliceSocket = network.Attach();
            var bobSocket = network.Attach();
            await using var alice = new UdpSessionHost(AliceId, aliceSocket, options, simulator);
            await using var bob = new UdpSessionHost(BobId, bobSocket, options, simulator);
            alice.Start();
            bob.Start();
            await body(simulator, network, alice, bob, bobSocket);
        });
        Assert.Equal(0, simulator.OffThreadCalls);
    }

    private static NodeIdentity Identity(int seed)
    {
        var bytes = new byte[32];
        new Random(seed).NextBytes(bytes);
        return NodeIdentity.FromSeed(bytes);
    }
}
