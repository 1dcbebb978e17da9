using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Overlay.Node.Configuration;

namespace Overlay.Node.Daemon;

/// <summary>
/// Hosted service that starts the node before the API listens and keeps it joined to the swarm: while the routing
/// table is empty it bootstraps from the peer cache (<c>&lt;data-dir&gt;/peers</c>, contacts that answered before) and
/// the configured bootstrap list, retrying with doubling delays (Node:BootstrapRetryDelay up to
/// Node:BootstrapRetryMaxDelay) for as long as it takes; once joined it checks every Node:JoinCheckInterval that the
/// table still has contacts (bootstrapping again when it has emptied) and saves the peer cache. It releases sockets and
/// listeners when the host stops. Waits use the runtime's <see cref="TimeProvider"/>.
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
        SavePeers();
        await runtime.DisposeAsync().ConfigureAwait(false);
    }

    /// <inheritdoc/>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var options = runtime.Settings.Node;
        var configured = await ResolveAsync(options.Bootstrap, stoppingToken).ConfigureAwait(false);
        var delay = options.BootstrapRetryDelay;
        var announcedAlone = false;
        var attempt = 0;
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                if (runtime.Dht.GetStatistics().RoutingTableSize > 0)
                {
                    delay = options.BootstrapRetryDelay;
                    attempt = 0;
                    SavePeers();
                    await Task.Delay(options.JoinCheckInterval, runtime.TimeProvider, stoppingToken).ConfigureAwait(false);
                    continue;
                }

                // Cached peers first: they answered this node before, and the bootstrap list may be gone.
                var contacts = runtime.Peers.Load()
                    .Concat(configured)
                    .Where(e => !e.Equals(runtime.EndPoint))
                    .Distinct()
                    .ToList();
                if (contacts.Count == 0)
                {
                    if (!announcedAlone)
                    {
                        NodeLog.NoBootstrap(logger);
                        announcedAlone = true;
                    }

                    await Task.Delay(options.JoinCheckInterval, runtime.TimeProvider, stoppingToken).ConfigureAwait(false);
                    continue;
                }

                attempt++;
                var started = Stopwatch.GetTimestamp();
                var result = await runtime.Dht.BootstrapAsync(contacts, stoppingToken).ConfigureAwait(false);
                if (result.ContactsReached > 0)
                {
                    NodeLog.Bootstrapped(logger, result.ContactsReached, contacts.Count, result.RoutingTableSize, Stopwatch.GetElapsedTime(started));
                    continue;
                }

                NodeLog.BootstrapRetry(logger, attempt, contacts.Count, delay);
                await Task.Delay(delay, runtime.TimeProvider, stoppingToken).ConfigureAwait(false);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, options.BootstrapRetryMaxDelay.Ticks));
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // The host is stopping.
        }
    }

    private void SavePeers()
    {
        try
        {
            runtime.Peers.Save(runtime.Dht.GetContacts());
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            NodeLog.PeerCacheFailed(logger, runtime.Peers.Path, ex.Message);
        }
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
                result.Add(await hostPort.ResolveAsync(cancellationToken).ConfigureAwait(false));
            }
            catch (SocketException ex)
            {
                NodeLog.BootstrapUnresolved(logger, entry, ex.Message);
            }
        }

        return result;
    }
}
