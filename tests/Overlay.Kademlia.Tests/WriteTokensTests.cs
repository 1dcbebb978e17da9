using System.Net;
using Overlay.Kademlia.Internal;
using Overlay.Testing;

namespace Overlay.Kademlia.Tests;

/// <summary>Write tokens (BEP 5 / BEP 44): bound to the requester's address and port, valid across one rotation only.</summary>
public sealed class WriteTokensTests
{
    private static readonly IPEndPoint Requester = new(IPAddress.Parse("192.0.2.10"), 4000);

    private static (WriteTokens Tokens, ManualTimeProvider Clock) Create()
    {
        var clock = new ManualTimeProvider();
        var random = new Random(5);
        return (new WriteTokens(clock, () =>
        {
            var secret = new byte[32];
            random.NextBytes(secret);
            return secret;
        }), clock);
    }

    [Fact]
    public void Token_ValidForSameEndpointOnly()
    {
        var (tokens, _) = Create();
        var token = tokens.Issue(Requester);

        Assert.Equal(WriteTokens.Length, token.Length);
        Assert.True(tokens.Validate(Requester, token));
        Assert.True(tokens.Validate(new IPEndPoint(IPAddress.Parse("192.0.2.10"), 4000), token));
        Assert.False(tokens.Validate(new IPEndPoint(Requester.Address, 4001), token));
        Assert.False(tokens.Validate(new IPEndPoint(IPAddress.Parse("192.0.2.11"), 4000), token));
        Assert.False(tokens.Validate(new IPEndPoint(IPAddress.Parse("2001:db8::10"), 4000), token));
        Assert.False(tokens.Validate(new IPEndPoint(Requester.Address.MapToIPv6(), 4000), token));
    }

    [Fact]
    public void Token_ForIPv6Endpoint_Works()
    {
        var (tokens, _) = Create();
        var v6 = new IPEndPoint(IPAddress.Parse("2001:db8::1"), 65535);
        var token = tokens.Issue(v6);
        Assert.True(tokens.Validate(v6, token));
        Assert.False(tokens.Validate(new IPEndPoint(IPAddress.Parse("2001:db8::2"), 65535), token));
    }

    [Fact]
    public void Token_IsDeterministicWithinARotation_AndChangesAfter()
    {
        var (tokens, clock) = Create();
        var first = tokens.Issue(Requester);
        clock.Advance(TimeSpan.FromMinutes(4));
        Assert.Equal(first, tokens.Issue(Requester));
        clock.Advance(TimeSpan.FromMinutes(1));
        Assert.NotEqual(first, tokens.Issue(Requester));
    }

    [Fact]
    public void Token_SurvivesOneRotation_NotTwo()
    {
        var (tokens, clock) = Create();
        var token = tokens.Issue(Requester);

        clock.Advance(WriteTokens.RotationInterval);
        Assert.True(tokens.Validate(Requester, token), "invalid after one rotation");

        clock.Advance(WriteTokens.RotationInterval);
        Assert.False(tokens.Validate(Requester, token), "still valid after two rotations");

        var fresh = tokens.Issue(Requester);
        Assert.True(tokens.Validate(Requester, fresh));
    }

    [Fact]
    public void Token_AfterALongPause_IsInvalid()
    {
        var (tokens, clock) = Create();
        var token = tokens.Issue(Requester);

        // No call in between: both secrets are replaced at once.
        clock.Advance(2 * WriteTokens.RotationInterval);
        Assert.False(tokens.Validate(Requester, token));
    }

    [Fact]
    public void Token_JustBeforeTenMinutes_StillValid()
    {
        var (tokens, clock) = Create();
        var token = tokens.Issue(Requester);
        clock.Advance((2 * WriteTokens.RotationInterval) - TimeSpan.FromTicks(1));
        Assert.True(tokens.Validate(Requester, token));
    }

    [Fact]
    public void Token_NeverOutlivesTwoRotationIntervals()
    {
        var (tokens, clock) = Create();
        var token = tokens.Issue(Requester);

        // The first rotation happens late (first call at 9 min); the token must still die at 10 min.
        clock.Advance(TimeSpan.FromMinutes(9));
        Assert.True(tokens.Validate(Requester, token));
        clock.Advance(TimeSpan.FromMinutes(4));
        Assert.False(tokens.Validate(Requester, token), "a token issued 13 minutes ago is still accepted");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(7)]
    [InlineData(9)]
    [InlineData(32)]
    public void Token_WrongLength_Rejected(int length)
    {
        var (tokens, _) = Create();
        var token = tokens.Issue(Requester);
        var resized = new byte[length];
        token.AsSpan(0, Math.Min(length, token.Length)).CopyTo(resized);
        Assert.False(tokens.Validate(Requester, resized));
    }

    [Fact]
    public void Token_AnyBitFlipped_Rejected()
    {
        var (tokens, _) = Create();
        var token = tokens.Issue(Requester);
        for (var bit = 0; bit < WriteTokens.Length * 8; bit++)
        {
            var flipped = (byte[])token.Clone();
            flipped[bit / 8] ^= (byte)(1 << (bit % 8));
            Assert.False(tokens.Validate(Requester, flipped), $"bit {bit} flipped still validates");
        }
    }
}
