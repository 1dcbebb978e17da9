using Overlay.Testing.Streams;
using Overlay.Transport.Sessions.Streams;

namespace Overlay.Transport.Tests.Streams;

/// <summary>Real payloads of a short exchange (streams, FIN, reset, ACKs, window updates), as fuzzing seeds and for frame checks.</summary>
internal sealed class MuxPairCapture
{
    /// <summary>Runs the exchange and keeps every payload sent either way.</summary>
    public MuxPairCapture()
    {
        var pair = new MuxPair(toServer: new LossyLinkOptions { LossRate = 0.05, Seed = 3 });
        pair.PacketFilter = (_, _, payload) =>
        {
            Payloads.Add(payload.ToArray());
            return true;
        };
        var data = new byte[50_000];
        new Random(4).NextBytes(data);
        for (var i = 0; i < 3; i++)
        {
            Assert.True(pair.Client.TryOpenStream(out var id));
            pair.Client.Write(id, data.AsSpan(0, 10_000 * (i + 1)));
            if (i == 2)
            {
                pair.Client.ResetStream(id, 9);
            }
            else
            {
                pair.Client.Finish(id);
            }
        }

        pair.EventHandler = (mux, e) =>
        {
            if (e.Kind == StreamMuxEventKind.StreamReadable)
            {
                while (mux.Read(e.StreamId, data).Status == StreamReadStatus.Data)
                {
                }
            }
        };
        pair.RunUntil(() => false, TimeSpan.FromSeconds(5));
    }

    /// <summary>Gets the payloads, in the order sent.</summary>
    public List<byte[]> Payloads { get; } = [];
}
