using Overlay.Transport.Sessions.Streams;

namespace Overlay.Testing.Streams;

/// <summary>
/// Two <see cref="StreamMux"/> cores (client and server) joined by two <see cref="LossyLink"/>s and stepped
/// synchronously in virtual time on the caller's thread: transmit everything allowed, deliver what has arrived, hand
/// events to <see cref="EventHandler"/>, and when nothing is left to do jump the clock to the next arrival or timer.
/// Deterministic for given options and seeds; no threads, no wall clock. Not thread-safe.
/// </summary>
public sealed class MuxPair
{
    /// <summary>Iterations in a row with a timer due and nothing happening before <see cref="RunUntil"/> reports a stuck core.</summary>
    private const int MaxIdleSpins = 1_000;

    private readonly byte[] _buffer;

    /// <summary>Creates the pair at virtual time zero.</summary>
    /// <param name="clientOptions">Client core options; null for defaults.</param>
    /// <param name="serverOptions">Server core options; null for the client's.</param>
    /// <param name="toServer">Client-to-server path; null for a lossless 10 ms path.</param>
    /// <param name="toClient">Server-to-client path; null for the same as <paramref name="toServer"/> with another seed.</param>
    public MuxPair(StreamMuxOptions? clientOptions = null, StreamMuxOptions? serverOptions = null, LossyLinkOptions? toServer = null, LossyLinkOptions? toClient = null)
    {
        Client = new StreamMux(isClient: true, clientOptions);
        Server = new StreamMux(isClient: false, serverOptions ?? clientOptions);
        toServer ??= new LossyLinkOptions();
        ToServer = new LossyLink(toServer);
        ToClient = new LossyLink(toClient ?? toServer with { Seed = toServer.Seed + 1 });
        _buffer = new byte[Math.Max(Client.MaxPayloadBytes, Server.MaxPayloadBytes)];
    }

    /// <summary>Gets the client core.</summary>
    public StreamMux Client { get; }

    /// <summary>Gets the server core.</summary>
    public StreamMux Server { get; }

    /// <summary>Gets the client-to-server path.</summary>
    public LossyLink ToServer { get; }

    /// <summary>Gets the server-to-client path.</summary>
    public LossyLink ToClient { get; }

    /// <summary>Gets the virtual time.</summary>
    public TimeSpan Now { get; private set; }

    /// <summary>Gets or sets the receiver of every event (the core it came from, the event).</summary>
    public Action<StreamMux, StreamMuxEvent>? EventHandler { get; set; }

    /// <summary>Gets or sets an observer of every packet sent (true when client to server, packet number, payload) before the path sees it; return false to drop it.</summary>
    public Func<bool, long, ReadOnlyMemory<byte>, bool>? PacketFilter { get; set; }

    /// <summary>Gets the transport errors <see cref="StreamMux.TryReceive"/> reported, by receiving side (true = server).</summary>
    public List<(bool AtServer, StreamMuxError Error)> Errors { get; } = [];

    /// <summary>Runs until <paramref name="done"/> holds, nothing is left to happen, or <paramref name="limit"/> of virtual time passed.</summary>
    /// <param name="done">Checked between steps.</param>
    /// <param name="limit">Most virtual time to run from now.</param>
    /// <returns>Whether <paramref name="done"/> held at the end.</returns>
    /// <exception cref="InvalidOperationException">A core kept a timer due without anything happening (a bug in the core).</exception>
    public bool RunUntil(Func<bool> done, TimeSpan limit)
    {
        var deadline = Now + limit;
        var idleSpins = 0;
        while (!done())
        {
            var busy = Transmit(Client, ToServer, true) | Transmit(Server, ToClient, false);
            busy |= Deliver(ToServer, Server, true) | Deliver(ToClient, Client, false);
            busy |= Dispatch(Client) | Dispatch(Server);
            if (busy)
            {
                idleSpins = 0;
                continue;
            }

            var next = Earliest(Earliest(Client.NextTimeout, Server.NextTimeout), Earliest(ToServer.NextArrival, ToClient.NextArrival));
            if (next is not { } at)
            {
                return done();
            }

            if (at > deadline)
            {
                Now = deadline;
                return done();
            }

            if (at > Now)
            {
                Now = at;
                idleSpins = 0;
            }
            else if (++idleSpins > MaxIdleSpins)
            {
                throw new InvalidOperationException($"stuck at {Now}: a timer is due (client {Client.NextTimeout}, server {Server.NextTimeout}) but nothing happens");
            }

            Fire(Client);
            Fire(Server);
        }

        return true;
    }

    /// <summary>Moves the clock to <paramref name="time"/> without running anything (to test timers).</summary>
    /// <param name="time">Not earlier than <see cref="Now"/>.</param>
    public void SetNow(TimeSpan time) => Now = time > Now ? time : Now;

    private static TimeSpan? Earliest(TimeSpan? a, TimeSpan? b) => a is null ? b : b is null ? a : a < b ? a : b;

    private void Fire(StreamMux mux)
    {
        if (mux.NextTimeout is { } due && due <= Now)
        {
            mux.OnTimeout(Now);
        }
    }

    private bool Transmit(StreamMux mux, LossyLink link, bool toServer)
    {
        var sent = false;
        int n;
        while ((n = mux.PollTransmit(_buffer, Now, out var packetNumber)) > 0)
        {
            sent = true;
            if (PacketFilter is null || PacketFilter(toServer, packetNumber, _buffer.AsMemory(0, n)))
            {
                link.Send(_buffer.AsSpan(0, n), packetNumber, Now);
            }
        }

        return sent;
    }

    private bool Deliver(LossyLink link, StreamMux mux, bool atServer)
    {
        var delivered = false;
        while (link.TryReceive(Now, out var payload, out var packetNumber))
        {
            delivered = true;
            if (!mux.TryReceive(payload, packetNumber, Now, out var error))
            {
                Errors.Add((atServer, error));
            }
        }

        return delivered;
    }

    private bool Dispatch(StreamMux mux)
    {
        var any = false;
        while (mux.TryDequeueEvent(out var e))
        {
            any = true;
            EventHandler?.Invoke(mux, e);
        }

        return any;
    }
}
