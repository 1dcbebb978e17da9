using System.Net;
using Overlay.Transport.Sessions.Internal;

namespace Overlay.Transport.Sessions;

/// <summary>What the endpoint sees of its host: its socket (<see cref="Outbox"/>) and its handler (<see cref="Handler"/>),
/// both called only from within the host's locked calls, both only recording into the current batch.</summary>
public sealed partial class UdpSessionHost
{
    /// <summary>The endpoint's socket: datagrams wait in the batch and are sent once the lock is released.</summary>
    private sealed class Outbox(UdpSessionHost host) : IMessageTransport
    {
        public IPEndPoint LocalEndPoint => host._socket.LocalEndPoint;

        public bool RequiresAsynchronousContinuations => host._asynchronous;

        /// <summary>Never called: the host starts the real socket with itself as the handler.</summary>
        public void Start(DatagramHandler handler) => throw new NotSupportedException("The session host starts the socket.");

        public void Send(IPEndPoint remote, ReadOnlySpan<byte> datagram) => host._batch.Add(remote, datagram);

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    /// <summary>The endpoint's reports: links are made, fed and ended here; completions wait in the batch.</summary>
    private sealed class Handler(UdpSessionHost host) : ISessionHandler
    {
        public void OnEstablished(UdpSession session)
        {
            var link = new UdpPacketLink(host, session, host._options.LinkQueueCapacity, host._asynchronous);
            host._links[session.LocalIndex] = link;
            SessionHostLog.Established(host._logger, session.RemoteId, session.RemoteEndPoint, session.IsInitiator);
            if (!session.IsInitiator)
            {
                host._batch.Effects.Add(new HostEffect(HostEffectKind.Accepted, null, link, null));
                return;
            }

            PendingConnect? pending = null;
            foreach (var candidate in host._connects.Values)
            {
                if (candidate.Index == session.LocalIndex)
                {
                    pending = candidate;
                    break;
                }
            }

            if (pending is not null)
            {
                host._connects.Remove(pending.Remote);
            }

            host._batch.Effects.Add(pending is { Waiting: true }
                ? new HostEffect(HostEffectKind.Connected, pending, link, null)
                : new HostEffect(HostEffectKind.CloseUnwanted, null, link, null));
        }

        public void OnData(UdpSession session, ulong packetNumber, ReadOnlySpan<byte> payload)
        {
            if (host._links.TryGetValue(session.LocalIndex, out var link) && link.Arrive((long)packetNumber, payload) is { } waiter)
            {
                host._batch.Effects.Add(new HostEffect(HostEffectKind.Wake, waiter, null, null));
            }
        }

        public void OnClosed(UdpSession? session, IPEndPoint remote, SessionCloseReason reason)
        {
            if (session is not null)
            {
                SessionHostLog.Closed(host._logger, session.RemoteId, remote, reason);
                if (host._links.Remove(session.LocalIndex, out var link) && link.End(reason) is { } waiter)
                {
                    host._batch.Effects.Add(new HostEffect(HostEffectKind.Wake, waiter, null, null));
                }

                return;
            }

            SessionHostLog.HandshakeEnded(host._logger, remote, reason);
            if (host._connects.Remove(remote, out var pending))
            {
                var detail = reason == SessionCloseReason.HandshakeTimeout
                    ? string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{host._options.Session.HandshakeAttempts} initiations sent, {host._options.Session.HandshakeRetry.TotalSeconds:0.###} s apart")
                    : null;
                var error = new UdpSessionException(reason, remote, pending.Expected, detail);
                host._batch.Effects.Add(new HostEffect(HostEffectKind.ConnectFailed, pending, null, error));
            }
        }
    }
}
