using System.Net;
using System.Security.Cryptography;
using Overlay.Transport.Sessions.Noise;

namespace Overlay.Transport.Sessions;

/// <summary>
/// Secure sessions over the node's UDP port (the session view of <see cref="Datagrams.DatagramDemux"/>), sans-IO in
/// time: the owner feeds it received packets and timer ticks with its monotonic <c>now</c>, on one thread, and it
/// sends through the given <see cref="IMessageTransport"/>. Handshakes are <see cref="SecureHandshake"/>s (Noise XX
/// with identity proofs and a cipher suite negotiated from <see cref="SessionOptions.CipherSuites"/>) in the packets of
/// <see cref="SessionPacket"/>; the initiator retransmits message 1 every
/// <see cref="SessionOptions.HandshakeRetry"/> and message 3 until the responder's first packet arrives. A responder
/// keeps no state for an initiation beyond <see cref="SessionOptions.CookieThreshold"/> pending ones unless it echoes a
/// cookie (<see cref="CookieGenerator"/>), never answers with more than 3 × the bytes it received (RFC 9000 §8: an
/// initiation is padded to 256 bytes, a response is about 210), and answers a repeated initiation with the same
/// response. Established sessions: see <see cref="UdpSession"/>; keepalives after
/// <see cref="SessionOptions.KeepaliveInterval"/> of sending silence, lost after <see cref="SessionOptions.DeadAfter"/>
/// of receiving silence, a new key phase after <see cref="SessionOptions.RekeyAfterTime"/> or
/// <see cref="SessionOptions.RekeyAfterBytes"/>. Every dropped packet is counted by reason (<see cref="GetDropCount"/>);
/// none throws. Not thread-safe: one owner.
/// </summary>
public sealed class UdpSessionEndpoint : IDisposable
{
    private readonly SessionCredentials _credentials;
    private readonly SessionOptions _options;
    private readonly IMessageTransport _socket;
    private readonly ISessionHandler _handler;
    private readonly CookieGenerator _cookies;
    private readonly Dictionary<uint, UdpSession> _sessions = [];
    private readonly Dictionary<uint, Initiation> _initiating = [];
    private readonly Dictionary<uint, Response> _responding = [];
    private readonly Dictionary<(IPEndPoint Remote, uint Index), uint> _respondingByInitiator = [];
    private readonly long[] _drops = new long[Enum.GetValues<SessionDrop>().Length];
    private readonly byte[] _packet = new byte[IMessageTransport.MaxDatagramBytes];
    private readonly byte[] _plaintext = new byte[IMessageTransport.MaxDatagramBytes];

    /// <summary>Creates an endpoint.</summary>
    /// <param name="identity">This node's identity, proven to every peer.</param>
    /// <param name="options">Timers and caps.</param>
    /// <param name="socket">Sends datagrams (the demultiplexer's session view); not owned.</param>
    /// <param name="handler">Receives sessions, payloads and closes.</param>
    /// <param name="now">The owner's monotonic time.</param>
    /// <exception cref="ArgumentException"><see cref="SessionOptions.CipherSuites"/> is empty, has a reserved bit, or
    /// holds AesGcm on a CPU without AES instructions.</exception>
    public UdpSessionEndpoint(NodeIdentity identity, SessionOptions options, IMessageTransport socket, ISessionHandler handler, TimeSpan now)
    {
        ArgumentNullException.ThrowIfNull(identity);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(socket);
        ArgumentNullException.ThrowIfNull(handler);
        CipherSuiteNegotiation.Validate(options.CipherSuites, $"{nameof(SessionOptions)}.{nameof(SessionOptions.CipherSuites)}");
        _credentials = new SessionCredentials(identity);
        _options = options;
        _socket = socket;
        _handler = handler;
        _cookies = new CookieGenerator(now);
    }

    /// <summary>Gets the established sessions.</summary>
    public IReadOnlyCollection<UdpSession> Sessions => _sessions.Values;

    /// <summary>Gets the number of handshakes this side answered that await their message 3.</summary>
    public int PendingResponses => _responding.Count;

    /// <summary>Gets the number of handshakes this side started that await a response.</summary>
    public int PendingInitiations => _initiating.Count;

    /// <summary>Returns how many received packets were dropped for <paramref name="reason"/>.</summary>
    /// <param name="reason">A reason.</param>
    /// <returns>A count ≥ 0.</returns>
    public long GetDropCount(SessionDrop reason) => _drops[(int)reason];

    /// <summary>Starts a handshake with <paramref name="remote"/>; <see cref="ISessionHandler.OnEstablished"/> or
    /// <see cref="ISessionHandler.OnClosed"/> follows.</summary>
    /// <param name="remote">The peer's address and port.</param>
    /// <param name="expected">The node ID this side means to reach; null to accept whoever proves an ID there.</param>
    /// <param name="now">The owner's monotonic time.</param>
    /// <returns>The handshake's local index: the established session's <see cref="UdpSession.LocalIndex"/>.</returns>
    public uint Connect(IPEndPoint remote, NodeId? expected, TimeSpan now)
    {
        ArgumentNullException.ThrowIfNull(remote);
        var index = NewIndex();
        var initiation = new Initiation(new SecureHandshake(_credentials, initiator: true, expected, _options.CipherSuites), remote) { StartedAt = now };
        var message = new byte[SecureHandshake.Message1Bytes];
        initiation.Handshake.WriteMessage(message);
        initiation.Message = message;
        _initiating[index] = initiation;
        SendInitiation(index, initiation, now);
        return index;
    }

    /// <summary>Handles one received session packet (first byte 0xD0..0xDF). Never throws on untrusted bytes.</summary>
    /// <param name="remote">Its source address and port.</param>
    /// <param name="packet">The datagram.</param>
    /// <param name="now">The owner's monotonic time.</param>
    public void Receive(IPEndPoint remote, ReadOnlySpan<byte> packet, TimeSpan now)
    {
        switch (packet.IsEmpty ? (byte)0 : packet[0])
        {
            case (byte)SessionPacketType.Data or (byte)SessionPacketType.DataPhase1:
                ReceiveData(remote, packet, now);
                break;
            case (byte)SessionPacketType.Initiation:
                ReceiveInitiation(remote, packet, now);
                break;
            case (byte)SessionPacketType.Response:
                ReceiveResponse(remote, packet, now);
                break;
            case (byte)SessionPacketType.Finish:
                ReceiveFinish(remote, packet, now);
                break;
            case (byte)SessionPacketType.CookieReply:
                ReceiveCookieReply(packet, now);
                break;
            default:
                Drop(SessionDrop.Malformed);
                break;
        }
    }

    /// <summary>Encrypts and sends one payload on <paramref name="session"/>, moving to a new key phase first when the
    /// current key is old or has carried <see cref="SessionOptions.RekeyAfterBytes"/>.</summary>
    /// <param name="session">An established session of this endpoint.</param>
    /// <param name="payload">At most <see cref="SessionPacket.MaxDataPayloadBytes"/> (1,203) bytes; empty = keepalive.</param>
    /// <param name="now">The owner's monotonic time.</param>
    /// <returns>False when the session is closed (or has just closed, its packet numbers exhausted).</returns>
    /// <exception cref="ArgumentException"><paramref name="payload"/> is too long.</exception>
    public bool Send(UdpSession session, ReadOnlySpan<byte> payload, TimeSpan now)
    {
        ArgumentNullException.ThrowIfNull(session);
        return Send(session, payload, session.NextPacketNumber, now);
    }

    /// <summary>Encrypts and sends one payload on <paramref name="session"/> under a packet number the caller chose, so
    /// that a stream multiplexer's own packet numbers are the ones on the wire (and reach the peer's
    /// <see cref="ISessionHandler.OnData"/>); otherwise as <see cref="Send(UdpSession, ReadOnlySpan{byte}, TimeSpan)"/>.
    /// Numbers are nonces and never repeat: one below the session's next number (taken meanwhile by a keepalive, or
    /// out of order) is refused, and numbers skipped are never used.</summary>
    /// <param name="session">An established session of this endpoint.</param>
    /// <param name="payload">At most <see cref="SessionPacket.MaxDataPayloadBytes"/> (1,203) bytes.</param>
    /// <param name="packetNumber">Greater than every number used on the session so far (by either overload); below 2^64 − 1.</param>
    /// <param name="now">The owner's monotonic time.</param>
    /// <returns>False when the session is closed (or has just closed, its packet numbers exhausted) or the number was refused.</returns>
    /// <exception cref="ArgumentException"><paramref name="payload"/> is too long.</exception>
    public bool Send(UdpSession session, ReadOnlySpan<byte> payload, ulong packetNumber, TimeSpan now)
    {
        ArgumentNullException.ThrowIfNull(session);
        if (payload.Length > SessionPacket.MaxDataPayloadBytes)
        {
            throw new ArgumentException($"a session payload is at most {SessionPacket.MaxDataPayloadBytes} bytes, not {payload.Length}", nameof(payload));
        }

        if (!_sessions.TryGetValue(session.LocalIndex, out var current) || current != session)
        {
            return false;
        }

        if (packetNumber >= CipherState.MaxNonce)
        {
            Remove(session, SessionCloseReason.Exhausted);
            return false;
        }

        if (packetNumber < session.NextPacketNumber)
        {
            return false;
        }

        if (now - session.KeyPhaseStartedAt >= _options.RekeyAfterTime || session.BytesUnderKey >= _options.RekeyAfterBytes)
        {
            session.RekeySend(now);
        }

        session.NextPacketNumber = packetNumber + 1;
        SessionPacket.WriteDataHeader(_packet, session.SendKeyPhase, session.RemoteIndex, packetNumber);
        var length = SessionPacket.DataHeaderBytes + session.SendCipher.Seal(packetNumber, _packet.AsSpan(0, SessionPacket.DataHeaderBytes), payload, _packet.AsSpan(SessionPacket.DataHeaderBytes));
        _socket.Send(session.RemoteEndPoint, _packet.AsSpan(0, length));
        session.LastSent = now;
        session.BytesSent += payload.Length;
        session.BytesUnderKey += payload.Length;
        return true;
    }

    /// <summary>Closes a session on this side (the peer finds it lost after its dead interval).</summary>
    /// <param name="session">The session.</param>
    public void Close(UdpSession session)
    {
        ArgumentNullException.ThrowIfNull(session);
        if (_sessions.TryGetValue(session.LocalIndex, out var current) && current == session)
        {
            Remove(session, SessionCloseReason.Closed);
        }
    }

    /// <summary>Runs the timers: handshake retransmissions and give-ups, expiry of answered handshakes, lost sessions,
    /// message-3 retransmissions and keepalives. Call at least every quarter of a second.</summary>
    /// <param name="now">The owner's monotonic time.</param>
    public void OnTimer(TimeSpan now)
    {
        foreach (var (index, initiation) in _initiating.ToList())
        {
            if (now < initiation.NextAttempt)
            {
                continue;
            }

            if (initiation.Attempts >= _options.HandshakeAttempts)
            {
                _initiating.Remove(index);
                initiation.Handshake.Dispose();
                _handler.OnClosed(null, initiation.Remote, SessionCloseReason.HandshakeTimeout);
                continue;
            }

            SendInitiation(index, initiation, now);
        }

        var responseLifetime = _options.HandshakeRetry * _options.HandshakeAttempts;
        foreach (var (index, response) in _responding.ToList())
        {
            if (now - response.CreatedAt >= responseLifetime)
            {
                RemoveResponse(index, response);
            }
        }

        foreach (var session in _sessions.Values.ToList())
        {
            if (now - session.LastReceived >= _options.DeadAfter)
            {
                Remove(session, SessionCloseReason.Lost);
            }
            else if (session.PendingFinish is { } finish && now - session.LastSent >= _options.HandshakeRetry && session.FinishResends < _options.HandshakeAttempts)
            {
                session.FinishResends++;
                session.LastSent = now;
                _socket.Send(session.RemoteEndPoint, finish);
            }
            else if (now - session.LastSent >= _options.KeepaliveInterval)
            {
                Send(session, default, now);
            }
        }
    }

    /// <summary>Closes every session and handshake (<see cref="SessionCloseReason.Shutdown"/>) and erases the keys.</summary>
    public void Dispose()
    {
        foreach (var session in _sessions.Values.ToList())
        {
            Remove(session, SessionCloseReason.Shutdown);
        }

        foreach (var initiation in _initiating.Values)
        {
            initiation.Handshake.Dispose();
        }

        foreach (var (index, response) in _responding.ToList())
        {
            RemoveResponse(index, response);
        }

        _initiating.Clear();
        _cookies.Dispose();
        _credentials.Dispose();
    }

    private void ReceiveData(IPEndPoint remote, ReadOnlySpan<byte> packet, TimeSpan now)
    {
        if (!SessionPacket.TryReadDataHeader(packet, out var phase, out var index, out var number))
        {
            Drop(SessionDrop.Malformed);
            return;
        }

        if (!_sessions.TryGetValue(index, out var session))
        {
            Drop(SessionDrop.UnknownIndex);
            return;
        }

        var isNext = false;
        var cipher = session.Window.IsFresh(number) ? session.ReceiveCipherFor(phase, number, out isNext) : null;
        if (cipher is null)
        {
            session.ReplaysDropped++;
            Drop(SessionDrop.Replay);
            return;
        }

        if (!cipher.TryOpen(number, packet[..SessionPacket.DataHeaderBytes], packet[SessionPacket.DataHeaderBytes..], _plaintext, out var length))
        {
            session.ForgeriesDropped++;
            Drop(SessionDrop.Forged);
            return;
        }

        if (isNext)
        {
            session.AdvanceReceivePhase(number);
        }

        session.Window.TryAccept(number);
        session.LastReceived = now;
        session.PendingFinish = null;
        if (!session.RemoteEndPoint.Equals(remote))
        {
            // WireGuard's rule: an authenticated packet moves the session to its source address.
            session.RemoteEndPoint = remote;
            session.PathChanges++;
        }

        if (length > 0)
        {
            session.BytesReceived += length;
            _handler.OnData(session, number, _plaintext.AsSpan(0, length));
        }
    }

    private void ReceiveInitiation(IPEndPoint remote, ReadOnlySpan<byte> packet, TimeSpan now)
    {
        if (!SessionPacket.TryReadInitiation(packet, out var initiatorIndex, out var cookie, out var message))
        {
            Drop(SessionDrop.Malformed);
            return;
        }

        if (_respondingByInitiator.TryGetValue((remote, initiatorIndex), out var existing))
        {
            // A retransmitted initiation: the response was lost; send the same bytes again.
            _socket.Send(remote, _responding[existing].Packet);
            return;
        }

        if (_responding.Count >= _options.MaxPendingHandshakes)
        {
            Drop(SessionDrop.HandshakeTableFull);
            return;
        }

        // The cookie binds the ephemeral key, which follows the offer byte.
        var ephemeral = message[1..];
        if (_responding.Count >= _options.CookieThreshold && !_cookies.IsValid(remote, ephemeral, cookie, now))
        {
            Span<byte> reply = stackalloc byte[SessionPacket.CookieReplyBytes];
            Span<byte> fresh = stackalloc byte[CookieGenerator.CookieLength];
            _cookies.Create(remote, ephemeral, now, fresh);
            _socket.Send(remote, reply[..SessionPacket.WriteCookieReply(reply, initiatorIndex, fresh)]);
            Drop(SessionDrop.CookieRequired);
            return;
        }

        var handshake = new SecureHandshake(_credentials, initiator: false, suites: _options.CipherSuites);
        if (handshake.ReadMessage(message) is var failure and not HandshakeFailure.None)
        {
            handshake.Dispose();
            Drop(DropFor(failure));
            return;
        }

        var index = NewIndex();
        var response = new byte[SessionPacket.ResponseHeaderBytes + handshake.MaxMessageBytes];
        SessionPacket.WriteResponseHeader(response, index, initiatorIndex);
        var length = SessionPacket.ResponseHeaderBytes + handshake.WriteMessage(response.AsSpan(SessionPacket.ResponseHeaderBytes));
        if (length > 3 * packet.Length)
        {
            // Never reached with version-1 payloads (about 210 bytes against 256 received); kept as the rule's guard.
            handshake.Dispose();
            Drop(SessionDrop.HandshakeFailed);
            return;
        }

        var entry = new Response(handshake, remote, initiatorIndex, response[..length], now);
        _responding[index] = entry;
        _respondingByInitiator[(remote, initiatorIndex)] = index;
        _socket.Send(remote, entry.Packet);
    }

    private void ReceiveResponse(IPEndPoint remote, ReadOnlySpan<byte> packet, TimeSpan now)
    {
        if (!SessionPacket.TryReadResponse(packet, out var responderIndex, out var index, out var message))
        {
            Drop(SessionDrop.Malformed);
            return;
        }

        if (!_initiating.Remove(index, out var initiation))
        {
            Drop(SessionDrop.UnknownIndex);
            return;
        }

        var handshake = initiation.Handshake;
        if (handshake.ReadMessage(message) != HandshakeFailure.None || _sessions.Count >= _options.MaxSessions)
        {
            handshake.Dispose();
            Drop(DropFor(handshake.Failure));
            _handler.OnClosed(null, initiation.Remote, SessionCloseReason.HandshakeFailed);
            return;
        }

        var finish = new byte[SessionPacket.FinishHeaderBytes + handshake.MaxMessageBytes];
        SessionPacket.WriteFinishHeader(finish, responderIndex);
        var length = SessionPacket.FinishHeaderBytes + handshake.WriteMessage(finish.AsSpan(SessionPacket.FinishHeaderBytes));
        var (send, receive) = handshake.Split();
        var session = new UdpSession(index, responderIndex, handshake.RemoteId!.Value, remote, initiator: true, send, receive, now, now - initiation.StartedAt)
        {
            PendingFinish = finish[..length],
        };
        handshake.Dispose();
        _sessions[index] = session;
        _socket.Send(remote, session.PendingFinish);
        _handler.OnEstablished(session);
    }

    private void ReceiveFinish(IPEndPoint remote, ReadOnlySpan<byte> packet, TimeSpan now)
    {
        if (!SessionPacket.TryReadFinish(packet, out var index, out var message))
        {
            Drop(SessionDrop.Malformed);
            return;
        }

        if (!_responding.TryGetValue(index, out var response))
        {
            // A repeated message 3 for a session already made is harmless; anything else names nothing here.
            if (!_sessions.ContainsKey(index))
            {
                Drop(SessionDrop.UnknownIndex);
            }

            return;
        }

        var handshake = response.Handshake;
        if (handshake.ReadMessage(message) != HandshakeFailure.None || _sessions.Count >= _options.MaxSessions)
        {
            RemoveResponse(index, response);
            Drop(SessionDrop.HandshakeFailed);
            return;
        }

        var (send, receive) = handshake.Split();
        var session = new UdpSession(index, response.InitiatorIndex, handshake.RemoteId!.Value, remote, initiator: false, send, receive, now, now - response.CreatedAt);
        RemoveResponse(index, response);
        _sessions[index] = session;
        _handler.OnEstablished(session);
    }

    private void ReceiveCookieReply(ReadOnlySpan<byte> packet, TimeSpan now)
    {
        if (!SessionPacket.TryReadCookieReply(packet, out var index, out var cookie))
        {
            Drop(SessionDrop.Malformed);
            return;
        }

        if (!_initiating.TryGetValue(index, out var initiation))
        {
            Drop(SessionDrop.UnknownIndex);
            return;
        }

        initiation.Cookie = cookie.ToArray();
        SendInitiation(index, initiation, now);
    }

    private void SendInitiation(uint index, Initiation initiation, TimeSpan now)
    {
        var length = SessionPacket.WriteInitiation(_packet, index, initiation.Cookie, initiation.Message);
        _socket.Send(initiation.Remote, _packet.AsSpan(0, length));
        initiation.Attempts++;
        initiation.NextAttempt = now + _options.HandshakeRetry;
    }

    private void Remove(UdpSession session, SessionCloseReason reason)
    {
        _sessions.Remove(session.LocalIndex);
        session.DisposeKeys();
        _handler.OnClosed(session, session.RemoteEndPoint, reason);
    }

    private void RemoveResponse(uint index, Response response)
    {
        _responding.Remove(index);
        _respondingByInitiator.Remove((response.Remote, response.InitiatorIndex));
        response.Handshake.Dispose();
    }

    /// <summary>A fresh random 32-bit index not in use by a session or handshake here (unpredictable, so an off-path
    /// sender cannot aim packets at a session).</summary>
    private uint NewIndex()
    {
        while (true)
        {
            var index = (uint)RandomNumberGenerator.GetInt32(int.MinValue, int.MaxValue);
            if (!_sessions.ContainsKey(index) && !_initiating.ContainsKey(index) && !_responding.ContainsKey(index))
            {
                return index;
            }
        }
    }

    private static SessionDrop DropFor(HandshakeFailure failure) =>
        failure == HandshakeFailure.UnsupportedSuite ? SessionDrop.UnsupportedSuite : SessionDrop.HandshakeFailed;

    private void Drop(SessionDrop reason) => _drops[(int)reason]++;

    /// <summary>A handshake this side started, waiting for its response.</summary>
    private sealed class Initiation(SecureHandshake handshake, IPEndPoint remote)
    {
        public SecureHandshake Handshake { get; } = handshake;

        public IPEndPoint Remote { get; } = remote;

        public TimeSpan StartedAt { get; init; }

        public byte[] Message { get; set; } = [];

        public byte[] Cookie { get; set; } = [];

        public int Attempts { get; set; }

        public TimeSpan NextAttempt { get; set; }
    }

    /// <summary>A handshake this side answered, waiting for its message 3.</summary>
    private sealed record Response(SecureHandshake Handshake, IPEndPoint Remote, uint InitiatorIndex, byte[] Packet, TimeSpan CreatedAt);
}
