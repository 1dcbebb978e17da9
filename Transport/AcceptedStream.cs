using System.Net;

namespace Overlay.Transport;

/// <summary>A stream a peer opened to this node, as <see cref="IStreamListener.AcceptAsync"/> yields it.</summary>
/// <param name="Stream">The bidirectional byte stream; the receiver owns and disposes it.</param>
/// <param name="Remote">The peer's address and port as this node sees them.</param>
/// <param name="Peer">The peer's node ID when the stream belongs to an authenticated session; null on plain TCP.</param>
public readonly record struct AcceptedStream(Stream Stream, IPEndPoint Remote, NodeId? Peer);
