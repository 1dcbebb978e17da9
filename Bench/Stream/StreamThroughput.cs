using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Overlay.Bench.Stream;

/// <summary>One way of carrying a byte stream between two endpoints in this process.</summary>
/// <param name="Name">The row's name in the table.</param>
/// <param name="Connect">Opens a connected (writer, reader) pair; the runner disposes both.</param>
internal sealed record StreamPath(string Name, Func<CancellationToken, Task<(System.IO.Stream Writer, System.IO.Stream Reader, IAsyncDisposable Owner)>> Connect);

/// <summary>
/// One stream's throughput on loopback: a writer sends <c>mib</c> MiB in 64 KiB writes, a reader in the same process
/// reads them; wall time and the process's CPU time (both ends) per GiB, median of <c>reps</c> runs per path, paths
/// interleaved run by run so the noisy machine weighs on all alike. The baselines are raw TCP and TLS 1.3 (SslStream,
/// OpenSSL, a self-signed ECDSA P-256 certificate pinned by thumbprint); beside them the TCP session and the UDP session,
/// lossless and with 1 % of its sender's datagrams dropped.
/// </summary>
internal static class StreamThroughput
{
    private const int ChunkBytes = 64 * 1024;

    /// <summary>Runs every path and returns the markdown table.</summary>
    /// <param name="paths">The paths, baselines first.</param>
    /// <param name="mib">MiB per run.</param>
    /// <param name="reps">Runs per path.</param>
    /// <param name="log">Progress lines.</param>
    /// <returns>The table.</returns>
    public static async Task<string> RunAsync(IReadOnlyList<StreamPath> paths, int mib, int reps, TextWriter log)
    {
        var results = paths.ToDictionary(p => p.Name, _ => new List<(double MibPerSecond, double CpuSecondsPerGib)>());
        for (var rep = 0; rep < reps; rep++)
        {
            foreach (var path in paths)
            {
                var (rate, cpu) = await RunOnceAsync(path, mib).ConfigureAwait(false);
                results[path.Name].Add((rate, cpu));
                log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{path.Name} run {rep + 1}: {rate:0} MiB/s, {cpu:0.00} CPU s/GiB"));
            }
        }

        var tls = results.TryGetValue(TlsName, out var t) ? Median(t.Select(r => r.MibPerSecond)) : double.NaN;
        var table = new StringBuilder();
        table.AppendLine(CultureInfo.InvariantCulture, $"{mib} MiB per run, median of {reps} runs, paths interleaved; CPU is both ends (one process).");
        table.AppendLine();
        table.AppendLine("| path | MiB/s (median) | runs | CPU s per GiB | vs TLS 1.3 |");
        table.AppendLine("|---|---:|---|---:|---:|");
        foreach (var path in paths)
        {
            var rows = results[path.Name];
            var median = Median(rows.Select(r => r.MibPerSecond));
            table.AppendLine(string.Create(CultureInfo.InvariantCulture, $"| {path.Name} | {median:0} | {string.Join(" / ", rows.Select(r => r.MibPerSecond.ToString("0", CultureInfo.InvariantCulture)))} | {Median(rows.Select(r => r.CpuSecondsPerGib)):0.00} | {median / tls:0.00} × |"));
        }

        return table.ToString();
    }

    /// <summary>The name of the TLS 1.3 row, the reference of the "vs" column.</summary>
    public const string TlsName = "TLS 1.3 over TCP (SslStream)";

    /// <summary>Raw TCP on 127.0.0.1, Nagle off.</summary>
    public static StreamPath RawTcp { get; } = new("raw TCP", async ct =>
    {
        var (client, server, listener) = await TcpPairAsync(ct).ConfigureAwait(false);
        return (client, server, new Disposer(listener));
    });

    /// <summary>TLS 1.3 over TCP on 127.0.0.1 with a pinned self-signed certificate.</summary>
    public static StreamPath Tls13 { get; } = new(TlsName, async ct =>
    {
        var (client, server, listener) = await TcpPairAsync(ct).ConfigureAwait(false);
        var certificate = SelfSigned();
        var thumbprint = certificate.Thumbprint;
        var serverTls = new SslStream(server);
        var clientTls = new SslStream(client, false, (_, cert, _, _) => cert is not null && cert.GetCertHashString() == thumbprint);
        await Task.WhenAll(
            serverTls.AuthenticateAsServerAsync(new SslServerAuthenticationOptions { ServerCertificate = certificate, EnabledSslProtocols = SslProtocols.Tls13 }, ct),
            clientTls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = "localhost", EnabledSslProtocols = SslProtocols.Tls13 }, ct)).ConfigureAwait(false);
        return (clientTls, serverTls, new Disposer(listener, certificate));
    });

    /// <summary>A TCP session with the suite negotiated by default (AES-256-GCM where the CPU has AES instructions): the
    /// proven-identity Noise channel on 127.0.0.1, then one multiplexed stream (reliable path, 16 KiB records).</summary>
    public static StreamPath TcpSession { get; } = TcpSessionWith("TCP session (Noise XX + streams, default suite)", null);

    /// <summary>The same TCP session held to ChaCha20-Poly1305, the suite of CPUs without AES instructions.</summary>
    public static StreamPath TcpSessionChaChaPoly { get; } = TcpSessionWith("TCP session (Noise XX + streams, ChaChaPoly)", Overlay.Transport.Sessions.SessionCipherSuites.ChaChaPoly);

    private static StreamPath TcpSessionWith(string name, Overlay.Transport.Sessions.SessionCipherSuites? suites) => new(name, async ct =>
    {
        var (client, server, listener) = await TcpPairAsync(ct).ConfigureAwait(false);
        var alice = Overlay.Transport.NodeIdentity.Generate();
        var bob = Overlay.Transport.NodeIdentity.Generate();
        var bobChannel = Overlay.Transport.Sessions.SecureStreamChannel.EstablishAsync(server, bob, initiator: false, null, TimeProvider.System, suites, ct);
        var aliceChannel = await Overlay.Transport.Sessions.SecureStreamChannel.EstablishAsync(client, alice, initiator: true, bob.Id, TimeProvider.System, suites, ct).ConfigureAwait(false);
        var options = Overlay.Transport.Sessions.Streams.StreamMuxOptions.ForReliablePath();
        var a = new Overlay.Transport.Sessions.Streams.StreamMuxConnection(new Overlay.Transport.Sessions.ChannelPacketLink(aliceChannel), isClient: true, options);
        var b = new Overlay.Transport.Sessions.Streams.StreamMuxConnection(new Overlay.Transport.Sessions.ChannelPacketLink(await bobChannel.ConfigureAwait(false)), isClient: false, Overlay.Transport.Sessions.Streams.StreamMuxOptions.ForReliablePath());
        a.Start();
        b.Start();
        var writer = await a.OpenStreamAsync(ct).ConfigureAwait(false);
        await writer.WriteAsync(new byte[1], ct).ConfigureAwait(false);
        var reader = await b.AcceptStreamAsync(ct).ConfigureAwait(false);
        await reader.ReadExactlyAsync(new byte[1], ct).ConfigureAwait(false);
        return (writer, reader, new Disposer(listener, null, a, b));
    });

    /// <summary>A UDP session: two <see cref="Overlay.Transport.Sessions.UdpSessionHost"/>s on 127.0.0.1 sockets, one
    /// session dialled with the expected node ID, then one multiplexed stream (datagram path: 1,203-byte payloads,
    /// acknowledgements, NewReno, pacing; ChaCha20-Poly1305).</summary>
    public static StreamPath UdpSession { get; } = new("UDP session (Noise XX + streams)", ct => UdpSessionPairAsync(0, ct));

    /// <summary>As <see cref="UdpSession"/> with 1 % of the sender's datagrams dropped before its socket (seeded).</summary>
    public static StreamPath UdpSessionLossy { get; } = new("UDP session, 1 % loss at the sender", ct => UdpSessionPairAsync(0.01, ct));

    private static async Task<(System.IO.Stream Writer, System.IO.Stream Reader, IAsyncDisposable Owner)> UdpSessionPairAsync(double loss, CancellationToken ct)
    {
        var alice = Overlay.Transport.NodeIdentity.Generate();
        var bob = Overlay.Transport.NodeIdentity.Generate();
        // As the daemon binds its one socket: segmented sends, coalesced receives (UdpMessageTransport.ReceiveOffload).
        var aliceSocket = Overlay.Transport.UdpMessageTransport.Bind(new IPEndPoint(IPAddress.Loopback, 0), 4 << 20, receiveOffload: true);
        var bobSocket = Overlay.Transport.UdpMessageTransport.Bind(new IPEndPoint(IPAddress.Loopback, 0), 4 << 20, receiveOffload: true);
        Overlay.Transport.IMessageTransport aliceSide = loss > 0 ? new DroppingTransport(aliceSocket, loss, seed: 7) : aliceSocket;
        var aliceHost = new Overlay.Transport.Sessions.UdpSessionHost(alice, aliceSide);
        var bobHost = new Overlay.Transport.Sessions.UdpSessionHost(bob, bobSocket);
        aliceHost.Start();
        bobHost.Start();
        var accepting = bobHost.AcceptAsync(ct);
        var a = aliceHost.StartStreams(await aliceHost.ConnectAsync(bobSocket.LocalEndPoint, bob.Id, ct).ConfigureAwait(false));
        var b = bobHost.StartStreams(await accepting.ConfigureAwait(false));
        var writer = await a.OpenStreamAsync(ct).ConfigureAwait(false);
        await writer.WriteAsync(new byte[1], ct).ConfigureAwait(false);
        var reader = await b.AcceptStreamAsync(ct).ConfigureAwait(false);
        await reader.ReadExactlyAsync(new byte[1], ct).ConfigureAwait(false);
        return (writer, reader, new AsyncDisposer(a, b, aliceHost, bobHost, aliceSide, bobSocket));
    }

    private static async Task<(double MibPerSecond, double CpuSecondsPerGib)> RunOnceAsync(StreamPath path, int mib)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        var (writer, reader, owner) = await path.Connect(timeout.Token).ConfigureAwait(false);
        await using (owner.ConfigureAwait(false))
        await using (writer.ConfigureAwait(false))
        await using (reader.ConfigureAwait(false))
        {
            var total = (long)mib * 1024 * 1024;
            var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
            var clock = Stopwatch.StartNew();
            var write = Task.Run(async () =>
            {
                var chunk = new byte[ChunkBytes];
                RandomNumberGenerator.Fill(chunk);
                for (long sent = 0; sent < total; sent += ChunkBytes)
                {
                    await writer.WriteAsync(chunk, timeout.Token).ConfigureAwait(false);
                }

                await writer.FlushAsync(timeout.Token).ConfigureAwait(false);
            });
            var buffer = new byte[ChunkBytes];
            long received = 0;
            while (received < total)
            {
                var n = await reader.ReadAsync(buffer, timeout.Token).ConfigureAwait(false);
                if (n == 0)
                {
                    throw new IOException($"{path.Name}: stream ended after {received} of {total} bytes");
                }

                received += n;
            }

            await write.ConfigureAwait(false);
            clock.Stop();
            var cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalSeconds;
            return (mib / clock.Elapsed.TotalSeconds, cpu * 1024 / mib);
        }
    }

    private static async Task<(NetworkStream Client, NetworkStream Server, TcpListener Listener)> TcpPairAsync(CancellationToken ct)
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        var accept = listener.AcceptSocketAsync(ct).AsTask();
        await client.ConnectAsync(listener.LocalEndpoint, ct).ConfigureAwait(false);
        var server = await accept.ConfigureAwait(false);
        server.NoDelay = true;
        return (new NetworkStream(client, ownsSocket: true), new NetworkStream(server, ownsSocket: true), listener);
    }

    private static X509Certificate2 SelfSigned()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256);
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));

        // SslStream on Linux needs the private key in an exportable, loaded form.
        return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pfx), null);
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
    }

    /// <summary>Disposes what a UDP session path left open besides its two streams, in order.</summary>
    private sealed class AsyncDisposer(params IAsyncDisposable[] items) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            foreach (var item in items)
            {
                await item.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>Disposes what a path left open besides its two streams.</summary>
    private sealed class Disposer(TcpListener listener, IDisposable? other = null, params IAsyncDisposable[] connections) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            foreach (var connection in connections)
            {
                await connection.DisposeAsync().ConfigureAwait(false);
            }

            listener.Stop();
            listener.Dispose();
            other?.Dispose();
        }
    }
}
