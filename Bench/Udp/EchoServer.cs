using System.Diagnostics;
using System.Net;

namespace Overlay.Bench.Udp;

/// <summary>
/// The native C echo baseline (Bench/native/echo.c) as a child process on 127.0.0.1: started with a lifetime it
/// enforces itself (alarm), killed by its process id on dispose.
/// </summary>
internal sealed class EchoServer : IDisposable
{
    private readonly Process _process;

    private EchoServer(Process process, IPEndPoint endPoint)
    {
        _process = process;
        EndPoint = endPoint;
    }

    /// <summary>Gets the echo server's process id.</summary>
    public int ProcessId => _process.Id;

    /// <summary>Gets the echo server's endpoint.</summary>
    public IPEndPoint EndPoint { get; }

    /// <summary>Starts <paramref name="path"/> on a free port and waits (at most 5 s) for its "port N" line.</summary>
    /// <param name="path">The compiled echo executable.</param>
    /// <param name="lifetime">The server exits by itself after this long.</param>
    /// <exception cref="InvalidOperationException">It did not report its port within 5 s.</exception>
    public static async Task<EchoServer> StartAsync(string path, TimeSpan lifetime)
    {
        var info = new ProcessStartInfo(path)
        {
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add("0");
        info.ArgumentList.Add(((int)Math.Ceiling(lifetime.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture));
        var process = Process.Start(info) ?? throw new InvalidOperationException($"Could not start {path}.");
        string? text;
        try
        {
            text = await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            text = null;
        }

        if (text is null || !text.StartsWith("port ", StringComparison.Ordinal))
        {
            process.Kill();
            process.Dispose();
            throw new InvalidOperationException($"The echo server {path} did not print its port within 5 s.");
        }

        var port = int.Parse(text.AsSpan(5), System.Globalization.CultureInfo.InvariantCulture);
        return new EchoServer(process, new IPEndPoint(IPAddress.Loopback, port));
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            _process.WaitForExit(5000);
        }

        _process.Dispose();
    }
}
