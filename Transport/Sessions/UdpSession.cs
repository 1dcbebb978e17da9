using System.Net;
using Overlay.Transport.Sessions.Noise;

namespace Overlay.Transport.Sessions;

/// <summary>
/// One established, authenticated UDP session with a proven peer (<see cref="RemoteId"/>), owned by a
/// <see cref="UdpSessionEndpoint"/>. Packets carry this side's receiver index one way and the peer's the other, a
/// packet number used as the AEAD nonce, and a key phase bit; the receive side keeps a <see cref="ReplayWindow"/>. The
/// remote endpoint follows the peer when an authenticated packet arrives from a new address (NAT rebinding or roaming,
/// WireGuard §2.1). Read its properties on the endpoint's owner thread.
/// </summary>
public sealed class UdpSession
{
    private CipherState _send;
    private CipherState _receive;
    private CipherState? _receiveOld;
    private CipherState? _receiveNext;
    private ulong _receivePhaseStart;

    internal UdpSession(uint localIndex, uint remoteIndex, NodeId remoteId, IPEndPoint remote, bool initiator, CipherState send, CipherState receive, TimeSpan now, TimeSpan handshakeTime)
    {
        HandshakeTime = handshakeTime;
        LocalIndex = localIndex;
        RemoteIndex = remoteIndex;
        RemoteId = remoteId;
        RemoteEndPoint = remote;
        IsInitiator = initiator;
        _send = send;
        _receive = receive;
        EstablishedAt = now;
        LastReceived = now;
        LastSent = now;
        KeyPhaseStartedAt = now;
    }

    /// <summary>Gets this side's 32-bit index for the session (peers put it in every packet they send).</summary>
    public uint LocalIndex { get; }

    /// <summary>Gets the peer's index for the session.</summary>
    public uint RemoteIndex { get; }

    /// <summary>Gets the peer's node ID, proven in the handshake.</summary>
    public NodeId RemoteId { get; }

    /// <summary>Gets the peer's current address and port (the last one an authenticated packet came from).</summary>
    public IPEndPoint RemoteEndPoint { get; internal set; }

    /// <summary>Gets whether this side dialled.</summary>
    public bool IsInitiator { get; }

    /// <summary>Gets the cipher suite the handshake negotiated: one of <see cref="SessionCipherSuites.AesGcm"/> and
    /// <see cref="SessionCipherSuites.ChaChaPoly"/>.</summary>
    public SessionCipherSuites CipherSuite => _send.Suite;

    /// <summary>Gets how long the handshake took on the endpoint's clock: from the first initiation sent to the response
    /// (initiator: one round trip, plus any retransmissions and a cookie round trip), or from the initiation received to
    /// message 3 (responder).</summary>
    public TimeSpan HandshakeTime { get; }

    /// <summary>Gets when the session was established (the endpoint's monotonic time).</summary>
    public TimeSpan EstablishedAt { get; }

    /// <summary>Gets when the last authenticated packet arrived.</summary>
    public TimeSpan LastReceived { get; internal set; }

    /// <summary>Gets when the last packet was sent.</summary>
    public TimeSpan LastSent { get; internal set; }

    /// <summary>Gets the number of packets sent: the next packet number, so numbers skipped by a send under a chosen
    /// number (<see cref="UdpSessionEndpoint.Send(UdpSession, ReadOnlySpan{byte}, ulong, TimeSpan)"/>) count too.</summary>
    public ulong PacketsSent => NextPacketNumber;

    /// <summary>Gets the payload bytes sent and received.</summary>
    public long BytesSent { get; internal set; }

    /// <summary>Gets the payload bytes received.</summary>
    public long BytesReceived { get; internal set; }

    /// <summary>Gets the number of packets dropped as replays or reordered beyond the window.</summary>
    public long ReplaysDropped { get; internal set; }

    /// <summary>Gets the number of packets dropped because they did not authenticate (tampered, truncated, forged).</summary>
    public long ForgeriesDropped { get; internal set; }

    /// <summary>Gets how many times the remote endpoint changed.</summary>
    public int PathChanges { get; internal set; }

    /// <summary>Gets this side's sending key phase: 0 or 1.</summary>
    public int SendKeyPhase { get; private set; }

    /// <summary>Gets how many times this side moved to a new sending key.</summary>
    public int Rekeys { get; private set; }

    internal ulong NextPacketNumber { get; set; }

    /// <summary>Gets or sets the initiator's message 3 packet, resent until the responder's first packet shows it arrived.</summary>
    internal byte[]? PendingFinish { get; set; }

    /// <summary>Gets or sets how many times message 3 was resent.</summary>
    internal int FinishResends { get; set; }

    internal ReplayWindow Window { get; } = new();

    internal TimeSpan KeyPhaseStartedAt { get; private set; }

    internal long BytesUnderKey { get; set; }

    internal int ReceiveKeyPhase { get; private set; }

    internal CipherState SendCipher => _send;

    /// <summary>Returns the receive cipher for a packet: the current phase's; the previous phase's for a late packet
    /// (numbered below the current phase's first); else the next phase's, derived once and kept until it is used.</summary>
    /// <param name="phase">The packet's key phase bit.</param>
    /// <param name="packetNumber">The packet's number.</param>
    /// <param name="isNext">True when the cipher is the next phase's (commit with <see cref="AdvanceReceivePhase"/>).</param>
    /// <returns>The cipher, or null for a late packet whose old key is gone.</returns>
    internal CipherState? ReceiveCipherFor(int phase, ulong packetNumber, out bool isNext)
    {
        isNext = false;
        if (phase == ReceiveKeyPhase)
        {
            return _receive;
        }

        if (packetNumber < _receivePhaseStart)
        {
            return _receiveOld;
        }

        isNext = true;
        return _receiveNext ??= _receive.CreateRekeyed();
    }

    /// <summary>Commits to the next receive phase once a packet under it authenticated.</summary>
    /// <param name="packetNumber">That packet's number: the new phase's first.</param>
    internal void AdvanceReceivePhase(ulong packetNumber)
    {
        _receiveOld?.Dispose();
        _receiveOld = _receive;
        _receive = _receiveNext!;
        _receiveNext = null;
        _receivePhaseStart = packetNumber;
        ReceiveKeyPhase ^= 1;
    }

    /// <summary>Moves the send side to the next key phase (Noise Rekey, §11.3).</summary>
    internal void RekeySend(TimeSpan now)
    {
        _send.Rekey();
        SendKeyPhase ^= 1;
        Rekeys++;
        KeyPhaseStartedAt = now;
        BytesUnderKey = 0;
    }

    internal void DisposeKeys()
    {
        _send.Dispose();
        _receive.Dispose();
        _receiveOld?.Dispose();
        _receiveNext?.Dispose();
    }
}
