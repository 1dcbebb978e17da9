using System.Net;
using Microsoft.Extensions.Logging;
using Overlay.Exchange;
using Overlay.Kademlia;
using Overlay.Node.Configuration;
using Overlay.Transport.Connections;
using Overlay.Transport.Datagrams;
using Overlay.Transport.Sessions;
using Overlay.Storage;

namespace Overlay.Node.Daemon;

/// <summary>
/// The concrete pieces of one node, wired together: the data directory's lock, identity, UDP socket (behind a <see cref="DatagramDemux"/>), Kademlia node (on its DHT view)
/// (with its publication file <c>&lt;data-dir&gt;/published</c>), peer cache, block store, the connection manager
/// (secure sessions with peers: UDP sessions on the socket's session view, dialled first, and the TCP path's acceptor on
/// the node's TCP port), and the block exchange server and
/// fetcher, which run as the <see cref="BlockExchangeServer.ProtocolName"/> protocol on those sessions. UDP and TCP share
/// one address and port number. Owns and disposes all of them; dispose is idempotent.
/// </summary>
internal sealed class NodeRuntime : IAsyncDisposable
{
    private int _started;
    private int _disposed;

    private readonly DataDirectoryLock _lock;

    /// <summary>The TCP path's acceptor on the TCP port bound with the UDP port; started by <see cref="Start"/>.</summary>
    private readonly TcpLinkAcceptor _tcpAcceptor;

    /// <summary>The UDP path: the session host on the socket's session view, and its acceptor.</summary>
    private readonly UdpSessionHost _sessions;
    private readonly UdpLinkAcceptor _udpAcceptor;

    /// <summary>The TCP path's dialer (holds this node's TCP session credentials).</summary>
    private readonly TcpLinkDialer _tcpDialer;

    private NodeRuntime(DataDirectoryLock dataLock, TcpLinkAcceptor tcpAcceptor, TcpLinkDialer tcpDialer, UdpSessionHost sessions, UdpLinkAcceptor udpAcceptor, NodeSettings settings, NodeIdentity identity, DatagramDemux datagrams, KademliaNode dht, ConnectionManager connections, FileBlockStore store, BlockExchangeServer exchangeServer, BlockFetcher fetcher, TimeProvider timeProvider)
    {
        _lock = dataLock;
        _tcpAcceptor = tcpAcceptor;
        _tcpDialer = tcpDialer;
        _sessions = sessions;
        _udpAcceptor = udpAcceptor;
        Connections = connections;
        Peers = new PeerCache(Path.Combine(settings.DataDirectory, PeerCache.FileName));
        Settings = settings;
        Identity = identity;
        Datagrams = datagrams;
        Dht = dht;
        Store = store;
        ExchangeServer = exchangeServer;
        Fetcher = fetcher;
        TimeProvider = timeProvider;
        StartedAt = timeProvider.GetUtcNow();
    }

    /// <summary>Gets the validated settings.</summary>
    public NodeSettings Settings { get; }

    /// <summary>Gets the node's key pair.</summary>
    public NodeIdentity Identity { get; }

    /// <summary>Gets the node's UDP socket, shared by the DHT and sessions through per-kind views.</summary>
    public DatagramDemux Datagrams { get; }

    /// <summary>Gets the Kademlia node.</summary>
    public KademliaNode Dht { get; }

    /// <summary>Gets the connection manager: one secure session per peer, over UDP or TCP.</summary>
    public ConnectionManager Connections { get; }

    /// <summary>Gets the peer cache (<c>&lt;data-dir&gt;/peers</c>): contacts tried first when the node (re)joins.</summary>
    public PeerCache Peers { get; }

    /// <summary>Gets the block store (<c>&lt;data-dir&gt;/blocks</c>).</summary>
    public FileBlockStore Store { get; }

    /// <summary>Gets the block exchange server.</summary>
    public BlockExchangeServer ExchangeServer { get; }

    /// <summary>Gets the block fetcher.</summary>
    public BlockFetcher Fetcher { get; }

    /// <summary>Gets the node's clock.</summary>
    public TimeProvider TimeProvider { get; }

    /// <summary>Gets when the runtime was created.</summary>
    public DateTimeOffset StartedAt { get; }

    /// <summary>Gets or sets the API URL once Kestrel listens (e.g. <c>http://127.0.0.1:5001</c>).</summary>
    public string? ApiUrl { get; set; }

    /// <summary>Gets the node's endpoint: UDP (DHT and sessions) and TCP (sessions) at the same address and port.</summary>
    public IPEndPoint EndPoint => Datagrams.LocalEndPoint;

    /// <summary>Creates every piece and binds the UDP and TCP sockets (one port number, see <see cref="NodePorts"/>);
    /// nothing runs until <see cref="Start"/>.</summary>
    /// <param name="settings">Validated settings.</param>
    /// <param name="loggerFactory">Loggers for the libraries.</param>
    /// <param name="timeProvider">The clock.</param>
    /// <returns>The runtime.</returns>
    /// <exception cref="PortInUseException">The UDP or TCP port is taken (with port 0: 32 picks in a row).</exception>
    /// <exception cref="System.Net.Sockets.SocketException">The address is not local or cannot be bound.</exception>
    /// <exception cref="InvalidDataException">The identity key file is malformed.</exception>
    /// <exception cref="DataDirectoryInUseException">Another daemon runs on the data directory.</exception>
    /// <exception cref="IOException">The data directory cannot be created or read.</exception>
    public static NodeRuntime Create(NodeSettings settings, ILoggerFactory loggerFactory, TimeProvider timeProvider)
    {
        var dataDir = settings.DataDirectory;
        Directory.CreateDirectory(dataDir);
        var dataLock = DataDirectoryLock.Acquire(dataDir);
        UdpMessageTransport? transport = null;
        System.Net.Sockets.TcpListener? listener = null;
        try
        {
            var identity = NodeIdentity.LoadOrCreate(Path.Combine(dataDir, "identity.key"));
            var address = IPAddress.Parse(settings.Node.ListenAddress);
            (transport, listener) = NodePorts.Bind(address, settings.Node.Port, settings.Kademlia.ReceiveBufferBytes, loggerFactory.CreateLogger<UdpMessageTransport>());
            var publications = new FilePublicationStore(Path.Combine(dataDir, PublicationsFileName));
            var datagrams = new DatagramDemux(transport);
            var dht = new KademliaNode(identity, datagrams.For(DatagramKind.Dht), settings.Kademlia, timeProvider, loggerFactory, publications: publications);
            var store = new FileBlockStore(Path.Combine(dataDir, "blocks"), loggerFactory.CreateLogger<FileBlockStore>());
            var tcp = new TcpLinkDialer(identity, timeProvider);
            var sessions = new UdpSessionHost(identity, datagrams.For(DatagramKind.Session), timeProvider: timeProvider, logger: loggerFactory.CreateLogger<UdpSessionHost>());
            var connections = new ConnectionManager(identity.Id, settings.Connections, settings.Node.UdpSessions ? [new UdpLinkDialer(sessions), tcp] : [tcp], timeProvider, loggerFactory)
            {
                LocalEndPoint = transport.LocalEndPoint,
            };
            var udpAcceptor = new UdpLinkAcceptor(sessions, connections);
            var acceptor = new TcpLinkAcceptor(new TcpStreamListener(listener, loggerFactory.CreateLogger<TcpStreamListener>()), identity, connections, timeProvider, loggerFactory.CreateLogger<TcpLinkAcceptor>());
            var server = new BlockExchangeServer(store, settings.Exchange, timeProvider, loggerFactory.CreateLogger<BlockExchangeServer>());
            var fetcher = new BlockFetcher(store, connections.Connector(BlockExchangeServer.ProtocolName), settings.Exchange, timeProvider, loggerFactory.CreateLogger<BlockFetcher>());
            return new NodeRuntime(dataLock, acceptor, tcp, sessions, udpAcceptor, settings, identity, datagrams, dht, connections, store, server, fetcher, timeProvider);
        }
        catch
        {
            listener?.Stop();
            transport?.DisposeAsync().AsTask().GetAwaiter().GetResult();
            dataLock.Dispose();
            throw;
        }
    }

    /// <summary>The publication file's name in the data directory: records this node put and keys it provides.</summary>
    public const string PublicationsFileName = "published";

    /// <summary>Starts the DHT, the connection manager with its TCP acceptor (the TCP port bound by <see cref="Create"/>)
    /// and, unless <see cref="NodeOptions.UdpSessions"/> is false, the UDP session host and its acceptor, and the exchange
    /// server on the manager's streams. Idempotent.</summary>
    public void Start()
    {
        if (Interlocked.Exchange(ref _started, 1) != 0)
        {
            return;
        }

        Dht.Start();
        Connections.Start();
        if (Settings.Node.UdpSessions)
        {
            _sessions.Start();
            _udpAcceptor.Start();
        }

        _tcpAcceptor.Start();
        ExchangeServer.Start(Connections.Listen(BlockExchangeServer.ProtocolName));
    }

    /// <summary>Stops and releases the acceptors, the exchange server, the connections (each closed "shutting down"), the
    /// UDP session host, the DHT and the socket, in that order. Idempotent.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _tcpAcceptor.DisposeAsync().ConfigureAwait(false);
        await _udpAcceptor.DisposeAsync().ConfigureAwait(false);
        await ExchangeServer.DisposeAsync().ConfigureAwait(false);
        await Connections.DisposeAsync().ConfigureAwait(false);
        _tcpDialer.Dispose();
        await _sessions.DisposeAsync().ConfigureAwait(false);
        await Dht.DisposeAsync().ConfigureAwait(false);
        await Datagrams.DisposeAsync().ConfigureAwait(false);
        _lock.Dispose();
    }
}
