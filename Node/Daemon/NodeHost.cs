using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using Overlay.Node.Api;
using Overlay.Node.Configuration;

namespace Overlay.Node.Daemon;

/// <summary>
/// Runs the daemon (<c>overlay node run</c>): creates the <see cref="NodeRuntime"/> (binding UDP) before the host, then
/// writes a new API token to <c>&lt;data-dir&gt;/api.token</c> (<see cref="ApiToken"/>), hosts <see cref="NodeService"/>
/// and the local API on Kestrel with <see cref="WebApplication"/> behind <see cref="ApiGuard"/>, writes the API URL
/// to <c>&lt;data-dir&gt;/api</c> and a ready line to stdout, and waits for SIGINT/SIGTERM (the default console
/// lifetime). Logs go to stderr, one line each with a UTC timestamp, so stdout carries only the ready line.
/// </summary>
internal static class NodeHost
{
    /// <summary>Timestamp format of console log lines (UTC, ISO 8601, milliseconds).</summary>
    public const string TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";

    /// <summary>The Generic Host's log category, whose start-up failure message would repeat ours with a stack trace.</summary>
    private const string HostCategory = "Microsoft.Extensions.Hosting.Internal.Host";

    /// <summary>Runs the daemon until it is told to stop.</summary>
    /// <param name="settings">Validated settings.</param>
    /// <param name="stdout">Receives the ready line <c>overlay node &lt;id&gt; udp &lt;endpoint&gt; api &lt;url&gt;</c>.</param>
    /// <param name="stderr">Receives the one-line error when the node cannot start.</param>
    /// <param name="cancellationToken">Stops the daemon, like SIGTERM.</param>
    /// <returns>The exit code: <see cref="ExitCodes.Ok"/> after a clean shutdown, <see cref="ExitCodes.Failure"/> when a port is taken, the identity is unreadable or start-up fails.</returns>
    public static async Task<int> RunAsync(NodeSettings settings, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);
        using var loggerFactory = LoggerFactory.Create(logging => ConfigureLogging(logging, settings));
        var logger = loggerFactory.CreateLogger(typeof(NodeHost).FullName!);
        NodeRuntime runtime;
        try
        {
            runtime = NodeRuntime.Create(settings, loggerFactory, TimeProvider.System);
        }
        catch (PortInUseException ex)
        {
            await stderr.WriteLineAsync($"error: {ex.Message}").ConfigureAwait(false);
            return ExitCodes.Failure;
        }
        catch (SocketException ex)
        {
            await stderr.WriteLineAsync($"error: cannot bind {settings.Node.ListenAddress}:{settings.Node.Port}: {ex.Message} (Node:Port, Node:ListenAddress)").ConfigureAwait(false);
            return ExitCodes.Failure;
        }
        catch (InvalidDataException ex)
        {
            await stderr.WriteLineAsync($"error: identity key in {settings.DataDirectory} is unreadable: {ex.Message}").ConfigureAwait(false);
            return ExitCodes.Failure;
        }
        catch (DataDirectoryInUseException ex)
        {
            await stderr.WriteLineAsync($"error: {ex.Message}").ConfigureAwait(false);
            return ExitCodes.Failure;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            await stderr.WriteLineAsync($"error: data directory {settings.DataDirectory}: {ex.Message}").ConfigureAwait(false);
            return ExitCodes.Failure;
        }

        await using (runtime.ConfigureAwait(false))
        {
            if (!NodeOptions.TryParseApi(settings.Node.Api, out var apiEndPoint, out var apiError))
            {
                // Validate() already checked it; this keeps the one-line promise if the two ever disagree.
                await stderr.WriteLineAsync($"error: Node:Api = '{settings.Node.Api}' {apiError}").ConfigureAwait(false);
                return ExitCodes.Usage;
            }

            // The token exists before the API listens, so a client that finds the api file also finds the token.
            var token = ApiToken.Create();
            var tokenPath = ApiToken.PathIn(settings.DataDirectory);
            try
            {
                ApiToken.Write(tokenPath, token);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                await stderr.WriteLineAsync($"error: cannot write the API token {tokenPath}: {OneLine(ex)}").ConfigureAwait(false);
                return ExitCodes.Failure;
            }

            try
            {
                return await ServeAsync(settings, runtime, loggerFactory, logger, apiEndPoint, token, stdout, stderr, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                ApiToken.Remove(tokenPath, token, logger);
            }
        }
    }

    /// <summary>Starts the API and the node, writes the api file and the ready line, and waits for shutdown.</summary>
    private static async Task<int> ServeAsync(NodeSettings settings, NodeRuntime runtime, ILoggerFactory loggerFactory, ILogger logger, System.Net.IPEndPoint apiEndPoint, string token, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        var app = BuildApp(settings, runtime, loggerFactory, apiEndPoint, token);
        await using (app.ConfigureAwait(false))
        {
            try
            {
                await app.StartAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return ExitCodes.Ok;
            }
            catch (Exception ex) when (ex is IOException or SocketException)
            {
                // Kestrel reports a taken API port as an IOException (both node ports were bound by NodeRuntime.Create).
                NodeLog.StartFailed(logger, ex);
                var line = IsAddressInUse(ex)
                    ? $"API port {apiEndPoint} is in use (another overlay daemon?); choose another with --api HOST:PORT or Node:Api (port 0 = any free port)"
                    : $"cannot listen (api {apiEndPoint}): {OneLine(ex)}";
                await stderr.WriteLineAsync($"error: {line}").ConfigureAwait(false);
                return ExitCodes.Failure;
            }
            catch (Exception ex)
            {
                // Start-up failures of the pieces (e.g. a library not yet implemented) end the process with one line.
                NodeLog.StartFailed(logger, ex);
                await stderr.WriteLineAsync($"error: node failed to start: {OneLine(ex)} (the daemon log has details at Debug level)").ConfigureAwait(false);
                return ExitCodes.Failure;
            }

            var url = ListeningUrl(app) ?? $"http://{apiEndPoint}";
            runtime.ApiUrl = url;
            var apiPath = ApiFile.PathIn(settings.DataDirectory);
            ApiFile.Write(apiPath, url, logger);
            try
            {
                NodeLog.Listening(logger, runtime.Dht.Id.ToString(), runtime.EndPoint, url, settings.DataDirectory);
                await stdout.WriteLineAsync($"overlay node {runtime.Dht.Id} udp {runtime.EndPoint} api {url}").ConfigureAwait(false);
                await stdout.FlushAsync(CancellationToken.None).ConfigureAwait(false);
                await app.WaitForShutdownAsync(cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                ApiFile.Remove(apiPath, url, logger);
            }
        }

        return ExitCodes.Ok;
    }

    /// <summary>Configures logging: the Logging section of the settings, single-line console output to stderr with UTC timestamps, the host's own start-up failure log muted (see <see cref="RunAsync"/>).</summary>
    /// <param name="logging">The logging builder.</param>
    /// <param name="settings">The settings (their merged configuration holds Logging).</param>
    internal static void ConfigureLogging(ILoggingBuilder logging, NodeSettings settings)
    {
        logging.AddConfiguration(settings.Configuration.GetSection("Logging"));

        // The Generic Host logs a start-up failure at Error with its stack before RunAsync can print its one line;
        // RunAsync logs the exception itself at Debug (NodeLog.StartFailed). Critical (the host stopping because a
        // background service failed) still shows.
        logging.AddFilter(HostCategory, LogLevel.Critical);
        logging.AddSimpleConsole(options =>
        {
            options.SingleLine = true;
            options.UseUtcTimestamp = true;
            options.TimestampFormat = TimestampFormat;
        });
        logging.Services.Configure<ConsoleLoggerOptions>(options => options.LogToStandardErrorThreshold = LogLevel.Trace);
    }

    /// <summary>Builds the host: the runtime's services, <see cref="NodeService"/> (unless <paramref name="hostNode"/> is false), and the API on Kestrel.</summary>
    /// <param name="settings">Validated settings.</param>
    /// <param name="runtime">The runtime, created before the host.</param>
    /// <param name="loggerFactory">The logger factory shared with the runtime; the caller owns it.</param>
    /// <param name="apiEndPoint">Where the API listens (port 0 = any free port).</param>
    /// <param name="apiToken">The token every request must carry (<see cref="ApiToken.Create"/>); the caller writes its file.</param>
    /// <param name="hostNode">Whether to host <see cref="NodeService"/>; tests of the API alone turn it off.</param>
    /// <returns>The application, not started.</returns>
    internal static WebApplication BuildApp(NodeSettings settings, NodeRuntime runtime, ILoggerFactory loggerFactory, System.Net.IPEndPoint apiEndPoint, string apiToken, bool hostNode = true)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [], ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();

        // One logger factory for the runtime (created before the host) and the host; we own and dispose it.
        builder.Services.Replace(ServiceDescriptor.Singleton(loggerFactory));
        builder.Services.AddSingleton(settings);
        builder.Services.AddSingleton(runtime);
        builder.Services.AddSingleton<NodeMetrics>();
        builder.Services.AddSingleton<NodeApi>();
        builder.Services.AddSingleton<ConnectionsApi>();
        if (hostNode)
        {
            builder.Services.AddHostedService<NodeService>();
        }

        builder.Services.Configure<ConsoleLifetimeOptions>(options => options.SuppressStatusMessages = true);
        builder.Services.Configure<RouteHandlerOptions>(options => options.ThrowOnBadRequest = true);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;

            // Small by default: ApiGuard sets each route's own limit (0 without a body, 16 KiB for records) and lifts it
            // only for add, whose importer streams the body to the store chunk by chunk. Request line and header limits
            // stay at Kestrel's defaults (8 KiB line, 32 KiB of headers, 100 headers), which bound them already.
            kestrel.Limits.MaxRequestBodySize = ApiRoutePolicy.RecordBodyBytes;
            kestrel.Listen(apiEndPoint);
        });

        var app = builder.Build();
        var apiLogger = loggerFactory.CreateLogger(typeof(NodeApi).FullName!);
        var guard = new ApiGuard(
            apiToken,
            ApiToken.PathIn(settings.DataDirectory),
            settings.Api,
            settings.Node.AllowRemoteApi,
            app.Services.GetRequiredService<NodeMetrics>(),
            loggerFactory.CreateLogger(typeof(ApiGuard).FullName!));
        app.Use((context, next) => ApiErrorHandler.InvokeAsync(context, next, apiLogger));

        // Routing first, so the guard sees the matched route's policy; the guard, so no handler runs unless it passed.
        app.UseWebSockets();
        app.UseRouting();
        app.Use((context, next) => guard.InvokeAsync(context, next));
        app.MapNodeApi();
        return app;
    }

    /// <summary>Returns the URL Kestrel listens on (with the actual port when 0 was asked), without a trailing slash.</summary>
    /// <param name="app">A started application.</param>
    /// <returns>The URL, or null before start.</returns>
    internal static string? ListeningUrl(WebApplication app)
    {
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses;
        return addresses?.FirstOrDefault()?.TrimEnd('/');
    }

    /// <summary>Returns whether the exception or one of its causes says the address is taken (Kestrel wraps AddressInUseException in an IOException).</summary>
    private static bool IsAddressInUse(Exception ex)
    {
        for (Exception? e = ex; e is not null; e = e.InnerException)
        {
            if (e is Microsoft.AspNetCore.Connections.AddressInUseException or SocketException { SocketErrorCode: SocketError.AddressAlreadyInUse })
            {
                return true;
            }
        }

        return false;
    }

    private static string OneLine(Exception ex) => ex.Message.ReplaceLineEndings(" ").Trim();
}
