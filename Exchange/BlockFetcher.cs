using System.Collections.Concurrent;
using System.Net;
using Microsoft.Extensions.Logging;
using Overlay.Exchange.Internal;
using Overlay.Exchange.Wire;
using Overlay.Storage;

namespace Overlay.Exchange;

/// <summary>
/// Fetches every missing block of a DAG from a set of providers into a block store, verifying each block against its
/// CID before storing it.
/// </summary>
/// <remarks>
/// The walk fetches the root first, then the children listed by <see cref="DagPb.GetLinks"/>, in parallel; blocks the
/// store already has are read locally and only their children are walked. Requests are spread round-robin over all
/// live providers, each provider connection carrying up to <see cref="ExchangeOptions.RequestWindow"/> pipelined
/// requests. A provider that sends a block not matching its CID, answers with an error or refusal, times out
/// (<see cref="ExchangeOptions.RequestTimeout"/>, <see cref="ExchangeOptions.ConnectTimeout"/>), cannot be reached
/// or disconnects is dropped for the rest of the fetch, and the block is asked of another live provider; a provider
/// answering NOT_FOUND is kept, and the block is asked elsewhere. Thread-safe: concurrent fetches are independent.
/// </remarks>
public sealed class BlockFetcher
{
    private readonly IBlockStore _store;
    private readonly IStreamConnector _connector;
    private readonly ExchangeOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<BlockFetcher> _logger;

    /// <summary>Creates a fetcher.</summary>
    /// <param name="store">Receives fetched blocks; also consulted for blocks already present.</param>
    /// <param name="connector">Opens streams to providers.</param>
    /// <param name="options">Request window, timeouts and frame limit.</param>
    /// <param name="timeProvider">Clock for timeouts and <see cref="FetchResult.Elapsed"/>.</param>
    /// <param name="logger">Receives fetch, drop and bad-block messages (EventIds 3010-3019).</param>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="options"/> fails <see cref="ExchangeOptions.Validate"/>.</exception>
    public BlockFetcher(IBlockStore store, IStreamConnector connector, ExchangeOptions options, TimeProvider timeProvider, ILogger<BlockFetcher> logger)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(connector);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(logger);
        options.ThrowIfInvalid();
        _store = store;
        _connector = connector;
        _options = options;
        _timeProvider = timeProvider;
        _logger = logger;
    }

    /// <summary>Fetches every block of the DAG rooted at <paramref name="root"/> that the store lacks.</summary>
    /// <param name="root">The DAG root (raw or dag-pb).</param>
    /// <param name="providers">Providers to ask (address and, when known, node ID; an <see cref="IPEndPoint"/> converts);
    /// duplicates are ignored. May be empty if the store already holds the DAG.</param>
    /// <param name="progress">Receives the cumulative number of block bytes fetched after each stored block.</param>
    /// <param name="cancellationToken">Cancels the fetch; blocks already stored stay.</param>
    /// <returns>Counts of blocks, bytes, bad blocks and dropped providers, and the elapsed time.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="root"/> or <paramref name="providers"/> is null.</exception>
    /// <exception cref="ExchangeException">A block could not be fetched from any live provider (the message lists each
    /// provider's outcome), or a verified block is not a valid dag-pb node.</exception>
    /// <exception cref="IOException">Writing to the store failed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<FetchResult> FetchDagAsync(
        Cid root,
        IReadOnlyList<PeerAddress> providers,
        IProgress<long>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(root);
        ArgumentNullException.ThrowIfNull(providers);
        long start = _timeProvider.GetTimestamp();
        var endpoints = providers.Distinct().ToList();
        ExchangeLog.FetchStarted(_logger, root.ToString(), endpoints.Count);
        await using var session = new FetchSession(this, endpoints, progress, cancellationToken);
        try
        {
            await session.RunAsync(root).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is ExchangeException or IOException)
        {
            ExchangeLog.FetchFailed(_logger, root.ToString(), _timeProvider.GetElapsedTime(start), ex);
            throw;
        }

        var elapsed = _timeProvider.GetElapsedTime(start);
        ExchangeLog.FetchCompleted(_logger, root.ToString(), session.BlocksFetched, session.BytesFetched, elapsed);
        return new FetchResult(root, session.BlocksFetched, session.BytesFetched, session.BadBlocks, session.ProvidersDropped, elapsed);
    }

    /// <summary>State of one FetchDagAsync call: provider connections, visited set, counters, first failure.</summary>
    private sealed class FetchSession : IAsyncDisposable
    {
        private readonly BlockFetcher _fetcher;
        private readonly List<ProviderConnection> _providers;
        private readonly IProgress<long>? _progress;
        private readonly CancellationToken _callerToken;
        private readonly CancellationTokenSource _abort;
        private readonly ConcurrentDictionary<Cid, byte> _visited = new();
        private readonly SemaphoreSlim _inFlight;
        private int _roundRobin = -1;
        private int _blocksFetched;
        private long _bytesFetched;
        private int _badBlocks;
        private int _providersDropped;
        private Exception? _failure;

        public FetchSession(BlockFetcher fetcher, List<PeerAddress> endpoints, IProgress<long>? progress, CancellationToken cancellationToken)
        {
            _fetcher = fetcher;
            _progress = progress;
            _callerToken = cancellationToken;
            _abort = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            _providers = endpoints
                .Select(ep => new ProviderConnection(ep, fetcher._connector, fetcher._options, fetcher._timeProvider, fetcher._logger, OnDropped))
                .ToList();

            // Bounds the blocks being fetched at once to what all provider windows can carry.
            _inFlight = new SemaphoreSlim(Math.Max(1, endpoints.Count * fetcher._options.RequestWindow));
        }

        public int BlocksFetched => Volatile.Read(ref _blocksFetched);

        public long BytesFetched => Interlocked.Read(ref _bytesFetched);

        public int BadBlocks => Volatile.Read(ref _badBlocks);

        public int ProvidersDropped => Volatile.Read(ref _providersDropped);

        public async Task RunAsync(Cid root)
        {
            _visited.TryAdd(root, 0);
            try
            {
                await VisitAsync(root).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (_failure is not null && !_callerToken.IsCancellationRequested)
            {
                // A sibling failed first and cancelled the rest; report that failure below.
            }

            if (_failure is not null)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(_failure);
            }
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var provider in _providers)
            {
                await provider.DisposeAsync().ConfigureAwait(false);
            }

            _abort.Dispose();
            _inFlight.Dispose();
        }

        private async Task VisitAsync(Cid cid)
        {
            var token = _abort.Token;
            byte[] block;
            try
            {
                await _inFlight.WaitAsync(token).ConfigureAwait(false);
                try
                {
                    block = await GetLocalAsync(cid, token).ConfigureAwait(false) ?? await FetchBlockAsync(cid, token).ConfigureAwait(false);
                }
                finally
                {
                    _inFlight.Release();
                }
            }
            catch (Exception ex) when (ex is ExchangeException or IOException)
            {
                Fail(ex);
                throw;
            }

            IReadOnlyList<Cid> links;
            try
            {
                links = DagPb.GetLinks(cid, block);
            }
            catch (InvalidDataException ex)
            {
                var failure = new ExchangeException(cid, $"block {cid} matches its CID but is not a valid DAG node: {ex.Message}", ex);
                Fail(failure);
                throw failure;
            }

            var children = new List<Task>(links.Count);
            foreach (var link in links)
            {
                if (_visited.TryAdd(link, 0))
                {
                    children.Add(VisitAsync(link));
                }
            }

            await Task.WhenAll(children).ConfigureAwait(false);
        }

        private async ValueTask<byte[]?> GetLocalAsync(Cid cid, CancellationToken cancellationToken)
        {
            if (!await _fetcher._store.HasAsync(cid, cancellationToken).ConfigureAwait(false))
            {
                return null;
            }

            // Raw blocks have no children: presence is enough. dag-pb blocks are read to walk their links.
            if (cid.Codec == Cid.RawCodec)
            {
                return [];
            }

            return await _fetcher._store.GetAsync(cid, cancellationToken).ConfigureAwait(false);
        }

        private async Task<byte[]> FetchBlockAsync(Cid cid, CancellationToken cancellationToken)
        {
            var tried = new HashSet<ProviderConnection>();
            var outcomes = new List<string>();
            while (true)
            {
                var provider = PickProvider(tried);
                if (provider is null)
                {
                    throw NoProviderLeft(cid, tried, outcomes);
                }

                tried.Add(provider);
                using (var waitCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, provider.DroppedToken))
                {
                    try
                    {
                        await provider.Window.WaitAsync(waitCts.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                    {
                        outcomes.Add($"{provider.EndPoint}: {provider.DropReason}");
                        continue;
                    }
                }

                BlockResponse response;
                try
                {
                    response = await provider.RequestAsync(cid, cancellationToken).ConfigureAwait(false);
                }
                catch (ProviderFailureException ex)
                {
                    provider.Drop(ex.Message);
                    outcomes.Add($"{provider.EndPoint}: {provider.DropReason}");
                    continue;
                }
                finally
                {
                    provider.Window.Release();
                }

                switch (response.ResultCase)
                {
                    case BlockResponse.ResultOneofCase.Data:
                        var data = response.Data.Memory;
                        if (!cid.Matches(data.Span))
                        {
                            Interlocked.Increment(ref _badBlocks);
                            ExchangeMetrics.BlocksBad.Add(1);
                            ExchangeLog.BadBlock(_fetcher._logger, provider.EndPoint, cid.ToString());
                            provider.Drop("bad block");
                            outcomes.Add($"{provider.EndPoint}: bad block");
                            continue;
                        }

                        await _fetcher._store.PutAsync(cid, data, cancellationToken).ConfigureAwait(false);
                        Interlocked.Increment(ref _blocksFetched);
                        long total = Interlocked.Add(ref _bytesFetched, data.Length);
                        ExchangeMetrics.BlocksReceived.Add(1);
                        ExchangeMetrics.BytesReceived.Add(data.Length);
                        _progress?.Report(total);
                        return data.ToArray();

                    case BlockResponse.ResultOneofCase.Status when response.Status == Status.NotFound:
                        ExchangeLog.NotFound(_fetcher._logger, provider.EndPoint, cid.ToString());
                        outcomes.Add($"{provider.EndPoint}: not found");
                        continue;

                    default:
                        string reason = response.ResultCase == BlockResponse.ResultOneofCase.Status
                            ? $"answered {response.Status}"
                            : "answered with neither data nor status";
                        provider.Drop(reason);
                        outcomes.Add($"{provider.EndPoint}: {reason}");
                        continue;
                }
            }
        }

        private ProviderConnection? PickProvider(HashSet<ProviderConnection> tried)
        {
            int n = _providers.Count;
            if (n == 0)
            {
                return null;
            }

            int start = (int)((uint)Interlocked.Increment(ref _roundRobin) % (uint)n);
            for (int i = 0; i < n; i++)
            {
                var candidate = _providers[(start + i) % n];
                if (candidate.IsLive && !tried.Contains(candidate))
                {
                    return candidate;
                }
            }

            return null;
        }

        private ExchangeException NoProviderLeft(Cid cid, HashSet<ProviderConnection> tried, List<string> outcomes)
        {
            foreach (var provider in _providers)
            {
                if (!tried.Contains(provider))
                {
                    outcomes.Add($"{provider.EndPoint}: dropped earlier ({provider.DropReason})");
                }
            }

            string detail = _providers.Count == 0
                ? "no providers given"
                : $"{tried.Count} provider{(tried.Count == 1 ? string.Empty : "s")} tried ({string.Join("; ", outcomes)})";
            return new ExchangeException(cid, $"block {cid} could not be fetched: {detail}");
        }

        private void OnDropped(ProviderConnection provider, string reason)
        {
            Interlocked.Increment(ref _providersDropped);
            ExchangeMetrics.ProvidersDropped.Add(1);
            ExchangeLog.ProviderDropped(_fetcher._logger, provider.EndPoint, reason);
        }

        private void Fail(Exception failure)
        {
            if (Interlocked.CompareExchange(ref _failure, failure, null) is null)
            {
                _abort.Cancel();
            }
        }
    }
}
