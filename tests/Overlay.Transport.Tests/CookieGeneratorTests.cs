using System.Net;
using Overlay.Transport.Sessions;

namespace Overlay.Transport.Tests;

/// <summary><see cref="CookieGenerator"/>: a cookie is valid for one source and ephemeral key, for 2 to 4 minutes.</summary>
public sealed class CookieGeneratorTests
{
    private static readonly IPEndPoint Source = new(IPAddress.Parse("127.0.0.9"), 4444);
    private static readonly byte[] Ephemeral = Enumerable.Range(1, 32).Select(i => (byte)i).ToArray();

    [Fact]
    public void Cookie_IsValidForItsSourceAndEphemeral_Only()
    {
        using var cookies = new CookieGenerator(TimeSpan.Zero);
        var cookie = new byte[CookieGenerator.CookieLength];
        cookies.Create(Source, Ephemeral, TimeSpan.Zero, cookie);

        Assert.True(cookies.IsValid(Source, Ephemeral, cookie, TimeSpan.FromSeconds(1)));
        Assert.False(cookies.IsValid(new IPEndPoint(Source.Address, 4445), Ephemeral, cookie, TimeSpan.FromSeconds(1)));
        Assert.False(cookies.IsValid(new IPEndPoint(IPAddress.Parse("127.0.0.8"), 4444), Ephemeral, cookie, TimeSpan.FromSeconds(1)));
        var otherEphemeral = (byte[])Ephemeral.Clone();
        otherEphemeral[31] ^= 1;
        Assert.False(cookies.IsValid(Source, otherEphemeral, cookie, TimeSpan.FromSeconds(1)));
        for (var bit = 0; bit < 128; bit += 5)
        {
            var flipped = (byte[])cookie.Clone();
            flipped[bit / 8] ^= (byte)(1 << (bit % 8));
            Assert.False(cookies.IsValid(Source, Ephemeral, flipped, TimeSpan.FromSeconds(1)));
        }

        Assert.False(cookies.IsValid(Source, Ephemeral, cookie.AsSpan(0, 15), TimeSpan.FromSeconds(1)));
        Assert.False(cookies.IsValid(Source, Ephemeral.AsSpan(0, 31), cookie, TimeSpan.FromSeconds(1)));
        Assert.False(cookies.IsValid(Source, [], [], TimeSpan.FromSeconds(1)));
    }

    [Fact]
    public void IPv4MappedSource_IsTheSameAsItsIPv4Address()
    {
        using var cookies = new CookieGenerator(TimeSpan.Zero);
        var cookie = new byte[CookieGenerator.CookieLength];
        cookies.Create(Source, Ephemeral, TimeSpan.Zero, cookie);
        Assert.True(cookies.IsValid(new IPEndPoint(Source.Address.MapToIPv6(), Source.Port), Ephemeral, cookie, TimeSpan.Zero));
    }

    [Fact]
    public void Cookie_OutlivesOneRotation_ButNotTwo()
    {
        using var cookies = new CookieGenerator(TimeSpan.Zero);
        var cookie = new byte[CookieGenerator.CookieLength];
        cookies.Create(Source, Ephemeral, TimeSpan.FromSeconds(10), cookie);

        var firstRotation = CookieGenerator.SecretLifetime;
        Assert.True(cookies.IsValid(Source, Ephemeral, cookie, firstRotation));
        Assert.True(cookies.IsValid(Source, Ephemeral, cookie, (firstRotation * 2) - TimeSpan.FromSeconds(1)));
        Assert.False(cookies.IsValid(Source, Ephemeral, cookie, firstRotation * 2));
    }

    [Fact]
    public void AfterALongGap_EvenTheLastSecretsCookiesAreRefused()
    {
        using var cookies = new CookieGenerator(TimeSpan.Zero);
        var cookie = new byte[CookieGenerator.CookieLength];
        cookies.Create(Source, Ephemeral, TimeSpan.Zero, cookie);
        Assert.False(cookies.IsValid(Source, Ephemeral, cookie, TimeSpan.FromHours(1)));
    }

    [Fact]
    public void TwoGenerators_MakeDifferentCookies()
    {
        using var a = new CookieGenerator(TimeSpan.Zero);
        using var b = new CookieGenerator(TimeSpan.Zero);
        var cookie = new byte[CookieGenerator.CookieLength];
        a.Create(Source, Ephemeral, TimeSpan.Zero, cookie);
        Assert.False(b.IsValid(Source, Ephemeral, cookie, TimeSpan.Zero));
    }
}
