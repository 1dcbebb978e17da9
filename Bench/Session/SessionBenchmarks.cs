using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using NSec.Cryptography;
using Overlay.Transport;
using Overlay.Transport.Sessions;
using Overlay.Transport.Sessions.Noise;

namespace Overlay.Bench.Session;

/// <summary>
/// Session figures for Bench/RESULTS.md: handshakes per second (both sides in one thread, in memory) next to the
/// X25519 agreements per second of libsodium, through NSec's objects and called directly as the handshake does
/// (<see cref="X25519KeyPair"/>), and the round-trip time of a small message on a
/// UDP session over loopback (two <see cref="UdpSessionHost"/>s, their links, the responder echoing from a task: one hop
/// off the receive thread per side) next to the same two sockets echoing it without a session (on the receive thread:
/// one hop, at the initiator). Medians of <c>reps</c> runs.
/// </summary>
internal static class SessionBenchmarks
{
    /// <summary>Runs both measurements and returns the markdown.</summary>
    /// <param name="reps">Runs per figure.</param>
    /// <param name="log">Progress lines.</param>
    /// <returns>The markdown tables.</returns>
    public static async Task<string> RunAsync(int reps, TextWriter log)
    {
        var handshakes = new List<double>();
        var freshHandshakes = new List<double>();
        var agreements = new List<double>();
        var rawAgreements = new List<double>();
        var signs = new List<double>();
        var verifies = new List<double>();
        var sessionRtt = new List<double>();
        var rawRtt = new List<double>();
        for (var rep = 0; rep < reps; rep++)
        {
            agreements.Add(X25519PerSecond(TimeSpan.FromSeconds(1)));
            rawAgreements.Add(RawX25519PerSecond(TimeSpan.FromSeconds(1)));
            var (sign, verify) = Ed25519PerSecond(TimeSpan.FromSeconds(1));
            signs.Add(sign);
            verifies.Add(verify);
            handshakes.Add(HandshakesPerSecond(TimeSpan.FromSeconds(1)));
            freshHandshakes.Add(HandshakesPerSecond(TimeSpan.FromSeconds(1), freshCredentials: true));
            rawRtt.Add(await RawRoundTripMicrosecondsAsync(5000).ConfigureAwait(false));
            sessionRtt.Add(await SessionRoundTripMicrosecondsAsync(5000).ConfigureAwait(false));
            log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"run {rep + 1}: {handshakes[^1]:0} handshakes/s, {agreements[^1]:0} X25519/s (NSec), {rawAgreements[^1]:0} X25519/s (libsodium direct), RTT {sessionRtt[^1]:0.0} µs session vs {rawRtt[^1]:0.0} µs raw"));
        }

        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"Median of {reps} runs; each handshake is both sides with the endpoints' long-lived credentials (2 ephemeral X25519 key pairs, 6 agreements, 2 Ed25519 verifications; the payload signatures are made once per endpoint).");
        text.AppendLine();
        text.AppendLine("| figure | value (median) | runs | baseline (median) | ratio |");
        text.AppendLine("|---|---:|---|---:|---:|");
        text.AppendLine(Row("Noise XX handshakes with identity proofs, both sides, per second", handshakes, "X25519 agreements/s (NSec)", agreements));
        text.AppendLine(Row("Noise XX handshakes with identity proofs, both sides, per second", handshakes, "X25519 agreements/s (libsodium direct, as the handshake calls it)", rawAgreements));
        text.AppendLine(Row("Noise XX handshakes, both sides, per second, long-lived credentials", handshakes, "the same with a static key and signed payload made per handshake", freshHandshakes));
        text.AppendLine(Row("round trip of 32 bytes on a UDP session (UdpSessionHost links, echoed by a task), µs", sessionRtt, "same sockets without a session (echoed on the receive thread), µs", rawRtt));
        text.AppendLine(Row("NodeIdentity.Verify (Ed25519, NSec) per second", verifies, "NodeIdentity.Sign per second", signs));
        return text.ToString();
    }

    private static string Row(string name, List<double> values, string baselineName, List<double> baseline) =>
        string.Create(CultureInfo.InvariantCulture, $"| {name} | {Median(values):0.0} | {string.Join(" / ", values.Select(v => v.ToString("0.0", CultureInfo.InvariantCulture)))} | {baselineName}: {Median(baseline):0.0} | {Median(values) / Median(baseline):0.00} × |");

    private static double X25519PerSecond(TimeSpan duration)
    {
        using var a = new Key(KeyAgreementAlgorithm.X25519);
        using var b = new Key(KeyAgreementAlgorithm.X25519);
        var clock = Stopwatch.StartNew();
        long count = 0;
        while (clock.Elapsed < duration)
        {
            using var shared = KeyAgreementAlgorithm.X25519.Agree(a, b.PublicKey);
            count++;
        }

        return count / clock.Elapsed.TotalSeconds;
    }

    private static double RawX25519PerSecond(TimeSpan duration)
    {
        using var a = X25519KeyPair.Generate();
        using var b = X25519KeyPair.Generate();
        Span<byte> shared = stackalloc byte[X25519KeyPair.KeyLength];
        var clock = Stopwatch.StartNew();
        long count = 0;
        while (clock.Elapsed < duration)
        {
            if (!a.TryAgree(b.PublicKey, shared))
            {
                throw new InvalidOperationException("a benchmark agreement failed");
            }

            count++;
        }

        return count / clock.Elapsed.TotalSeconds;
    }

    private static (double Sign, double Verify) Ed25519PerSecond(TimeSpan duration)
    {
        var identity = NodeIdentity.Generate();
        var message = new byte[57];
        var signature = identity.Sign(message);
        var clock = Stopwatch.StartNew();
        long signs = 0;
        while (clock.Elapsed < duration)
        {
            identity.Sign(message);
            signs++;
        }

        var signRate = signs / clock.Elapsed.TotalSeconds;
        clock.Restart();
        long verifies = 0;
        while (clock.Elapsed < duration)
        {
            if (!NodeIdentity.Verify(identity.PublicKey.Span, message, signature))
            {
                throw new InvalidOperationException("a benchmark signature did not verify");
            }

            verifies++;
        }

        return (signRate, verifies / clock.Elapsed.TotalSeconds);
    }

    /// <summary>Handshakes per second, both sides in this thread; with <paramref name="freshCredentials"/> each side
    /// makes its static key and signed payload for every handshake (what <see cref="SecureStreamChannel"/>'s public
    /// overload does), else both reuse their endpoint's credentials (the UDP endpoint and the TCP dialer and acceptor).</summary>
    private static double HandshakesPerSecond(TimeSpan duration, bool freshCredentials = false)
    {
        var bob = NodeIdentity.Generate();
        var aliceIdentity = NodeIdentity.Generate();
        using var alice = new SessionCredentials(aliceIdentity);
        using var bobCredentials = new SessionCredentials(bob);
        var buffer = new byte[1024];
        var clock = Stopwatch.StartNew();
        long count = 0;
        while (clock.Elapsed < duration)
        {
            using var initiator = freshCredentials ? new SecureHandshake(aliceIdentity, initiator: true, bob.Id) : new SecureHandshake(alice, initiator: true, bob.Id);
            using var responder = freshCredentials ? new SecureHandshake(bob, initiator: false) : new SecureHandshake(bobCredentials, initiator: false);
            for (var i = 0; i < 3; i++)
            {
                var (writer, reader) = i % 2 == 0 ? (initiator, responder) : (responder, initiator);
                var n = writer.WriteMessage(buffer);
                if (reader.ReadMessage(buffer.AsSpan(0, n)) != HandshakeFailure.None)
                {
                    throw new InvalidOperationException("a benchmark handshake failed");
                }
            }

            count++;
        }

        return count / clock.Elapsed.TotalSeconds;
    }

    /// <summary>Ping-pongs 32 bytes <paramref name="count"/> times between two loopback sockets, the far one echoing on its
    /// receive thread; returns the median RTT, µs.</summary>
    private static async Task<double> RawRoundTripMicrosecondsAsync(int count)
    {
        await using var a = UdpMessageTransport.Bind(new IPEndPoint(IPAddress.Loopback, 0), 1 << 20);
        await using var b = UdpMessageTransport.Bind(new IPEndPoint(IPAddress.Loopback, 0), 1 << 20);
        var clock = Stopwatch.StartNew();
        var samples = new double[count];
        using var done = new SemaphoreSlim(0);
        var payload = new byte[32];
        b.Start((from, datagram) => b.Send(from, datagram));
        a.Start((_, _) => done.Release());
        for (var i = 0; i < count; i++)
        {
            var start = clock.Elapsed;
            a.Send(b.LocalEndPoint, payload);
            await done.WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
            samples[i] = (clock.Elapsed - start).TotalMicroseconds;
        }

        return Median(samples);
    }

    /// <summary>Ping-pongs 32 bytes <paramref name="count"/> times over a session between two <see cref="UdpSessionHost"/>s
    /// on loopback sockets, through their <see cref="UdpPacketLink"/>s (the responder echoes what its link receives);
    /// returns the median RTT, µs.</summary>
    private static async Task<double> SessionRoundTripMicrosecondsAsync(int count)
    {
        await using var a = UdpMessageTransport.Bind(new IPEndPoint(IPAddress.Loopback, 0), 1 << 20);
        await using var b = UdpMessageTransport.Bind(new IPEndPoint(IPAddress.Loopback, 0), 1 << 20);
        await using var alice = new UdpSessionHost(NodeIdentity.Generate(), a);
        await using var bob = new UdpSessionHost(NodeIdentity.Generate(), b);
        alice.Start();
        bob.Start();
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var accepting = bob.AcceptAsync(bound.Token);
        await using var aliceLink = await alice.ConnectAsync(b.LocalEndPoint, null, bound.Token).ConfigureAwait(false);
        await using var bobLink = await accepting.ConfigureAwait(false);
        var echo = Task.Run(async () =>
        {
            var buffer = new byte[bobLink.MaxPayloadBytes];
            for (var i = 0; i < count; i++)
            {
                var packet = await bobLink.ReceiveAsync(buffer, bound.Token).ConfigureAwait(false);
                await bobLink.SendAsync(buffer.AsMemory(0, packet.Length), i, bound.Token).ConfigureAwait(false);
            }
        });
        var clock = Stopwatch.StartNew();
        var samples = new double[count];
        var payload = new byte[32];
        var reply = new byte[aliceLink.MaxPayloadBytes];
        for (var i = 0; i < count; i++)
        {
            var start = clock.Elapsed;
            await aliceLink.SendAsync(payload, i, bound.Token).ConfigureAwait(false);
            await aliceLink.ReceiveAsync(reply, bound.Token).ConfigureAwait(false);
            samples[i] = (clock.Elapsed - start).TotalMicroseconds;
        }

        await echo.ConfigureAwait(false);
        return Median(samples);
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
    }
}
