using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Http.Headers;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Overlay.Node.Configuration;
using Overlay.Node.Daemon;

namespace Overlay.Node.Tests;

/// <summary>
/// The API pipeline (NodeHost.BuildApp: guard, routes, handlers) on a real Kestrel listener on 127.0.0.1 port 0, over
/// a real runtime whose DHT is not started. Counts the guard's refusals of this app only, by reason, through a
/// <see cref="MeterListener"/> scoped to the app's meter factory (other tests' apps run in parallel).
/// </summary>
internal sealed class ApiTestHost : IAsyncDisposable
{
    private readonly TempDir _dir;
    private readonly MeterListener _listener;
    private readonly ConcurrentDictionary<string, long> _refusals = new(StringComparer.Ordinal);

    private ApiTestHost(TempDir dir, NodeRuntime runtime, WebApplication app, string url, string token)
    {
        _dir = dir;
        Runtime = runtime;
        App = app;
        Url = url;
        Token = token;
        Http = NewClient();
        Http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        Port = new Uri(url).Port;

        var meterFactory = app.Services.GetRequiredService<IMeterFactory>();
        _listener = new MeterListener
        {
            InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Name == NodeMetrics.ApiRefusedName && ReferenceEquals(instrument.Meter.Scope, meterFactory))
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            },
        };
        _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "reason")
                {
                    _refusals.AddOrUpdate((string)tag.Value!, value, (_, old) => old + value);
                }
            }
        });
        _listener.Start();
    }

    public NodeRuntime Runtime { get; }

    public WebApplication App { get; }

    /// <summary>Gets the API's URL, <c>http://127.0.0.1:port</c>.</summary>
    public string Url { get; }

    public int Port { get; }

    public string Token { get; }

    /// <summary>Gets a client of <c>/api/v0/</c> that sends the token, as the CLI does.</summary>
    public HttpClient Http { get; }

    public string DataDir => _dir.Path;

    /// <summary>Starts an app; <paramref name="overrides"/> are configuration keys (e.g. <c>Api:AllowedOrigins:0</c>).</summary>
    public static async Task<ApiTestHost> StartAsync(IReadOnlyDictionary<string, string?>? overrides = null)
    {
        var dir = new TempDir();
        var all = new Dictionary<string, string?>
        {
            ["Node:DataDir"] = dir.Path,
            ["Node:Port"] = "0",
            ["Node:Api"] = "127.0.0.1:0",
            ["Storage:ChunkSize"] = "1000",
        };
        foreach (var (key, value) in overrides ?? new Dictionary<string, string?>())
        {
            all[key] = value;
        }

        var settings = NodeConfigurationLoader.Load(Path.Combine(dir.Path, "absent.json"), all, mustExist: false, includeEnvironment: false);
        var runtime = NodeRuntime.Create(settings, NullLoggerFactory.Instance, TimeProvider.System);
        var token = ApiToken.Create();
        var app = NodeHost.BuildApp(settings, runtime, NullLoggerFactory.Instance, new IPEndPoint(IPAddress.Loopback, 0), token, hostNode: false);
        await app.StartAsync();
        var url = NodeHost.ListeningUrl(app)!;
        runtime.ApiUrl = url;
        return new ApiTestHost(dir, runtime, app, url, token);
    }

    /// <summary>Returns a client of <c>/api/v0/</c> with no token, as a web page or a stray script would be.</summary>
    public HttpClient NewClient() => new() { BaseAddress = new Uri(Url + "/api/v0/"), Timeout = TimeSpan.FromSeconds(30) };

    /// <summary>Returns how many requests the guard refused for <paramref name="reason"/> so far.</summary>
    public long Refusals(string reason)
    {
        // Counter measurements are delivered synchronously on the request's thread, before the response is written.
        return _refusals.TryGetValue(reason, out var count) ? count : 0;
    }

    /// <summary>Returns the total refusals over every reason.</summary>
    public long TotalRefusals() => _refusals.Values.Sum();

    public async ValueTask DisposeAsync()
    {
        _listener.Dispose();
        Http.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
        await Runtime.DisposeAsync();
        _dir.Dispose();
    }
}
