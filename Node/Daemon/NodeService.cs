using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Overlay.Node.Configuration;

namespace Overlay.Node.Daemon;

/// <summary>
/// Hosted service that starts the node before the API listens, joins the swarm in the background (retrying with
/// doubling delays while no bootstrap contact answers, since a bootstrap node may start a moment later), and
/// releases sockets and listeners when the host stops.
/// </summary>
internal sealed class NodeService(NodeRuntime runtime, ILogger<NodeService> logger) : BackgroundService
{
    /// <inheritdoc/>
    public override Task StartAsync(CancellationToken cancellationToken)
    {
        runtime.Start();
        return base.StartAsync(cancellationToken);
    }

    /// <inheritdoc/>
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        NodeLog.Stopping(logger, runtime.Dht.Id.ToString());
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        await runtime.DisposeAsync().ConfigureAwait(false);
    }

    /// <inheritdoc/>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var options = runtime.Settings.Node;
        var contacts = await ResolveAsync(options.Bootstrap, stoppingToken).ConfigureAwait(false);
        if (contacts.Count == 0)
        {
            NodeLog.NoBootstrap(logger);
            return;
        }

        var delay = options.BootstrapRetryDelay;
        for (var attempt = 1; attempt <= options.BootstrapAttempts; attempt++)
        {
            var started = Stopwatch.GetTimestamp();
            var result = await runtime.Dht.BootstrapAsync(contacts, stoppingToken).ConfigureAwait(false);
            if (result.ContactsReached > 0)
            {
                NodeLog.Bootstrapped(logger, result.ContactsReached, contacts.Count, result.RoutingTableSize, Stopwatch.GetElapsedTime(started));
                return;
            }

            if (attempt == options.BootstrapAttempts)
            {
                break;
            }

            NodeLog.BootstrapRetry(logger, attempt, options.BootstrapAttempts, contacts.Count, delay);
            await Task.Delay(delay, runtime.TimeProvider, stoppingToken).ConfigureAwait(false);
            delay += delay;
        }

        NodeLog.BootstrapFailed(logger, contacts.Count, options.BootstrapAttempts);
    }

    private async Task<List<IPEndPoint>> ResolveAsync(IReadOnlyList<string> entries, CancellationToken cancellationToken)
    {
        var result = new List<IPEndPoint>();
        foreach (var entry in entries)
        {
            if (!HostPort.TryParse(entry, out var hostPort, out var error))
            {
                NodeLog.BootstrapUnresolved(logger, entry, error);
                continue;
            }

            try
            {
                var endPoint = await hostPort.ResolveAsync(cancellationToken).ConfigureAwait(false);
                if (!endPoint.Equals(runtime.EndPoint))
                {
                    result.Add(endPoint);
                }
            }
            catch (SocketException ex)
            {
                NodeLog.BootstrapUnresolved(logger, entry, ex.Message);
            }
        }

        return result;
    }
}
