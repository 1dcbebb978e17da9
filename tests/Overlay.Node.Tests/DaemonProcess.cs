using System.Diagnostics;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace Overlay.Node.Tests;

/// <summary>The outcome of one <c>overlay</c> CLI process.</summary>
/// <param name="ExitCode">The process exit code.</param>
/// <param name="StdOut">Everything written to stdout.</param>
/// <param name="StdErr">Everything written to stderr.</param>
internal sealed record CliRun(int ExitCode, string StdOut, string StdErr)
{
    public JsonElement Json() => JsonDocument.Parse(StdOut).RootElement;

    public override string ToString() => $"exit {ExitCode}; stdout: {StdOut.Trim()}; stderr: {StdErr.Trim()}";
}

/// <summary>
/// One real <c>overlay node run</c> daemon process on 127.0.0.1 with OS-chosen ports, started from the overlay.dll
/// next to the test binaries. Start waits (bounded) for its ready line on stdout; dispose sends SIGTERM, waits up to
/// 10 s, then kills it.
/// </summary>
internal sealed class DaemonProcess : IAsyncDisposable
{
    private static readonly TimeSpan StartBound = TimeSpan.FromSeconds(60);
    private readonly Process _process;
    private readonly StringBuilder _stderr = new();

    private DaemonProcess(Process process, string dataDir, string udpEndPoint, string apiUrl, string id)
    {
        _process = process;
        DataDir = dataDir;
        UdpEndPoint = udpEndPoint;
        ApiUrl = apiUrl;
        Id = id;
    }

    public string DataDir { get; }

    /// <summary>Gets the UDP (and TCP) endpoint, <c>127.0.0.1:port</c>.</summary>
    public string UdpEndPoint { get; }

    /// <summary>Gets the API URL, <c>http://127.0.0.1:port</c>.</summary>
    public string ApiUrl { get; }

    public string Id { get; }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>Gets what the daemon logged so far (stderr), for failure messages.</summary>
    public string Log
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    public static string OverlayDll => Path.Combine(AppContext.BaseDirectory, "overlay.dll");

    /// <summary>Starts a daemon and waits for its ready line.</summary>
    /// <param name="dataDir">Its data directory.</param>
    /// <param name="bootstrap">Bootstrap contact, or null for the first node.</param>
    /// <param name="environment">Extra <c>OVERLAY__</c> settings.</param>
    /// <param name="port">UDP and TCP port; 0 = any free port.</param>
    public static async Task<DaemonProcess> StartAsync(string dataDir, string? bootstrap, IReadOnlyDictionary<string, string>? environment = null, int port = 0)
    {
        var info = Info(["node", "run", "--data-dir", dataDir, "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--api", "127.0.0.1:0", .. bootstrap is null ? Array.Empty<string>() : ["--bootstrap", bootstrap]]);
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException("dotnet did not start");
        var stderr = new StringBuilder();
        process.ErrorDataReceived += (_, e) =>
        {
            lock (stderr)
            {
                stderr.AppendLine(e.Data);
            }
        };
        process.BeginErrorReadLine();
        using var bound = new CancellationTokenSource(StartBound);
        string? line;
        try
        {
            do
            {
                line = await process.StandardOutput.ReadLineAsync(bound.Token);
            }
            while (line is not null && !line.StartsWith("overlay node ", StringComparison.Ordinal));
        }
        catch (OperationCanceledException)
        {
            line = null;
        }

        if (line is null)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(CancellationToken.None);
            throw new InvalidOperationException($"daemon in {dataDir} gave no ready line within {StartBound} (exit {process.ExitCode}): {stderr}");
        }

        // "overlay node <id> udp <endpoint> api <url>"
        var parts = line.Split(' ');
        var daemon = new DaemonProcess(process, dataDir, parts[4], parts[6], parts[2]);
        lock (stderr)
        {
            daemon._stderr.Append(stderr);
        }

        process.ErrorDataReceived += (_, e) =>
        {
            lock (daemon._stderr)
            {
                daemon._stderr.AppendLine(e.Data);
            }
        };
        return daemon;
    }

    /// <summary>Gets the daemon's API token, read from <c>api.token</c> in its data directory.</summary>
    public string Token => File.ReadAllText(Path.Combine(DataDir, "api.token")).Trim();

    /// <summary>Runs the CLI against this daemon (<c>--api</c> and <c>--data-dir</c>, where the CLI finds the token, appended).</summary>
    public Task<CliRun> CliAsync(params string[] args) =>
        RunCliAsync([.. args, "--api", ApiUrl.Replace("http://", string.Empty, StringComparison.Ordinal), "--data-dir", DataDir]);

    /// <summary>Returns a request to <c>/api/v0/PATH</c> of this daemon carrying its token, as a script with curl would send it.</summary>
    public HttpRequestMessage Request(HttpMethod method, string path)
    {
        var request = new HttpRequestMessage(method, $"{ApiUrl}/api/v0/{path}");
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", Token);
        return request;
    }

    /// <summary>Runs <c>overlay ARGS</c> and waits for it, at most 2 minutes.</summary>
    public static Task<CliRun> RunCliAsync(params string[] args) => RunCliAsync(null, args);

    /// <summary>Runs <c>overlay ARGS</c> with extra environment variables and waits for it, at most 2 minutes.</summary>
    public static async Task<CliRun> RunCliAsync(IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        var info = Info(args);
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException("dotnet did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var bound = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        try
        {
            await process.WaitForExitAsync(bound.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"overlay {string.Join(' ', args)} did not finish within 2 minutes");
        }

        return new CliRun(process.ExitCode, await stdout, await stderr);
    }

    /// <summary>Reads the daemon's routing table size from its API.</summary>
    public async Task<int> RoutingTableSizeAsync(HttpClient http)
    {
        using var request = Request(HttpMethod.Get, "status");
        using var response = await http.SendAsync(request);
        response.EnsureSuccessStatusCode();
        var status = await response.Content.ReadFromJsonAsync<JsonElement>();
        return status.GetProperty("routingTableSize").GetInt32();
    }

    /// <summary>Sends SIGTERM and waits for the exit, at most 10 s.</summary>
    /// <returns>The exit code, or null when it had to be killed.</returns>
    public async Task<int?> StopAsync()
    {
        if (_process.HasExited)
        {
            return _process.ExitCode;
        }

        using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill!.WaitForExitAsync();
        }

        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            await _process.WaitForExitAsync(bound.Token);
            return _process.ExitCode;
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync(CancellationToken.None);
            return null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _process.Dispose();
    }

    private static ProcessStartInfo Info(IEnumerable<string> args)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(OverlayDll);
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        // The daemons and CLI read no configuration from the developer's environment.
        foreach (var key in info.Environment.Keys.Where(k => k.StartsWith("OVERLAY__", StringComparison.Ordinal)).ToList())
        {
            info.Environment.Remove(key);
        }

        return info;
    }
}
