using Overlay.Testing.Simulation;
using Overlay.Testing.Streams;
using Overlay.Transport.Sessions;
using Overlay.Transport.Sessions.Streams;

namespace Overlay.Testing.Sessions;

/// <summary>
/// Two <see cref="UdpSessionHost"/>s (Alice dials, Bob answers) on a <see cref="LossyDatagramNetwork"/> in a
/// <see cref="Simulator"/>'s virtual time, with one session between them and a stream connection on each end: the real
/// session endpoint, encryption and replay window under the real stream multiplexer. Create it inside
/// <see cref="Simulator.Run(Func{Task}, TimeSpan?)"/>; disposing closes both connections and hosts.
/// </summary>
public sealed class UdpSessionPair : IAsyncDisposable
{
    private UdpSessionPair(LossyDatagramNetwork network, LossyDatagramTransport aliceSocket, LossyDatagramTransport bobSocket, UdpSessionHost alice, UdpSessionHost bob)
    {
        Network = network;
        AliceSocket = aliceSocket;
        BobSocket = bobSocket;
        Alice = alice;
        Bob = bob;
    }

    /// <summary>Gets the network.</summary>
    public LossyDatagramNetwork Network { get; }

    /// <summary>Gets Alice's socket (the dialler's).</summary>
    public LossyDatagramTransport AliceSocket { get; }

    /// <summary>Gets Bob's socket.</summary>
    public LossyDatagramTransport BobSocket { get; }

    /// <summary>Gets Alice's host.</summary>
    public UdpSessionHost Alice { get; }

    /// <summary>Gets Bob's host.</summary>
    public UdpSessionHost Bob { get; }

    /// <summary>Gets Alice's link (initiator).</summary>
    public UdpPacketLink AliceLink { get; private set; } = null!;

    /// <summary>Gets Bob's link (responder).</summary>
    public UdpPacketLink BobLink { get; private set; } = null!;

    /// <summary>Gets Alice's stream connection (the client).</summary>
    public StreamMuxConnection Client { get; private set; } = null!;

    /// <summary>Gets Bob's stream connection (the server).</summary>
    public StreamMuxConnection Server { get; private set; } = null!;

    /// <summary>Attaches two hosts, dials Bob from Alice expecting Bob's ID, and starts a stream connection on each end.</summary>
    /// <param name="simulator">The simulator this runs in.</param>
    /// <param name="path">Every datagram's delay, loss, reordering and duplication.</param>
    /// <param name="aliceIdentity">Alice's identity.</param>
    /// <param name="bobIdentity">Bob's identity.</param>
    /// <param name="hostOptions">Both hosts' options; null for the defaults.</param>
    /// <param name="muxOptions">Both connections' options; null for the defaults.</param>
    /// <returns>The connected pair.</returns>
    public static async Task<UdpSessionPair> ConnectAsync(Simulator simulator, LossyLinkOptions path, NodeIdentity aliceIdentity, NodeIdentity bobIdentity, UdpSessionHostOptions? hostOptions = null, StreamMuxOptions? muxOptions = null)
    {
        var network = new LossyDatagramNetwork(simulator, path);
        var aliceSocket = network.Attach();
        var bobSocket = network.Attach();
        var alice = new UdpSessionHost(aliceIdentity, aliceSocket, hostOptions, simulator);
        var bob = new UdpSessionHost(bobIdentity, bobSocket, hostOptions, simulator);
        alice.Start();
        bob.Start();
        var pair = new UdpSessionPair(network, aliceSocket, bobSocket, alice, bob);
        var accepting = bob.AcceptAsync().AsTask();
        pair.AliceLink = await alice.ConnectAsync(bobSocket.PublicEndPoint, bobIdentity.Id);
        pair.BobLink = await accepting;
        pair.Client = alice.StartStreams(pair.AliceLink, muxOptions);
        pair.Server = bob.StartStreams(pair.BobLink, muxOptions);
        return pair;
    }

    /// <summary>Disposes both connections (closing the sessions) and both hosts.</summary>
    /// <returns>A task.</returns>
    public async ValueTask DisposeAsync()
    {
        await Client.DisposeAsync();
        await Server.DisposeAsync();
        await Alice.DisposeAsync();
        await Bob.DisposeAsync();
    }
}
