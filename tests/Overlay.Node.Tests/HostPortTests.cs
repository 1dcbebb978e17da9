using System.Net;
using Overlay.Node.Configuration;

namespace Overlay.Node.Tests;

public sealed class HostPortTests
{
    [Theory]
    [InlineData("127.0.0.1:4001", "127.0.0.1", 4001)]
    [InlineData(" localhost:1 ", "localhost", 1)]
    [InlineData("node-1.example:65535", "node-1.example", 65535)]
    [InlineData("[::1]:4001", "::1", 4001)]
    [InlineData("[fe80::1%2]:80", "fe80::1%2", 80)]
    public void ParsesValidPairs(string text, string host, int port)
    {
        Assert.True(HostPort.TryParse(text, out var value, out var error), error);
        Assert.Equal(host, value.Host);
        Assert.Equal(port, value.Port);
        Assert.Equal(string.Empty, error);
    }

    [Theory]
    [InlineData(null, "is not host:port")]
    [InlineData("", "is not host:port")]
    [InlineData("127.0.0.1", "is not host:port")]
    [InlineData(":4001", "is not host:port")]
    [InlineData("::1:4001", "is not host:port")]
    [InlineData("[::1]4001", "is not [address]:port")]
    [InlineData("[::1", "is not [address]:port")]
    [InlineData("host:0", "has no port in 1..65535")]
    [InlineData("host:65536", "has no port in 1..65535")]
    [InlineData("host:-1", "has no port in 1..65535")]
    [InlineData("host:+80", "has no port in 1..65535")]
    [InlineData("host:http", "has no port in 1..65535")]
    public void RejectsInvalidPairsWithAReason(string? text, string reason)
    {
        Assert.False(HostPort.TryParse(text, out _, out var error));
        Assert.Equal(reason, error);
    }

    [Fact]
    public void PortZeroOnlyWhenAllowed()
    {
        Assert.False(HostPort.TryParse("127.0.0.1:0", out _, out _));
        Assert.True(HostPort.TryParse("127.0.0.1:0", out var value, out _, allowPortZero: true));
        Assert.Equal(0, value.Port);
        Assert.False(HostPort.TryParse("127.0.0.1:65536", out _, out var error, allowPortZero: true));
        Assert.Equal("has no port in 0..65535", error);
    }

    [Theory]
    [InlineData("127.0.0.1", 4001, "127.0.0.1:4001")]
    [InlineData("::1", 4001, "[::1]:4001")]
    public void FormatsBracketsForIpv6(string host, int port, string expected)
    {
        Assert.Equal(expected, new HostPort(host, port).ToString());
    }

    [Fact]
    public async Task ResolvesIpLiteralsWithoutLookup()
    {
        var endPoint = await new HostPort("127.0.0.1", 4001).ResolveAsync(CancellationToken.None);
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, 4001), endPoint);
    }

    [Theory]
    [InlineData("127.0.0.1:5001", "127.0.0.1", 5001)]
    [InlineData("http://127.0.0.1:5001", "127.0.0.1", 5001)]
    [InlineData("http://127.0.0.1:5001/", "127.0.0.1", 5001)]
    [InlineData("HTTP://localhost:0", "127.0.0.1", 0)]
    [InlineData("[::1]:5001", "::1", 5001)]
    public void TryParseApiAcceptsEndpoints(string text, string address, int port)
    {
        Assert.True(NodeOptions.TryParseApi(text, out var endPoint, out var error), error);
        Assert.Equal(new IPEndPoint(IPAddress.Parse(address), port), endPoint);
    }

    [Theory]
    [InlineData(null, "is empty")]
    [InlineData("  ", "is empty")]
    [InlineData("https://127.0.0.1:5001", "must be host:port or http://host:port")]
    [InlineData("example.com:5001", "must name an IP address or localhost")]
    [InlineData("127.0.0.1", "is not host:port")]
    [InlineData("127.0.0.1:99999", "has no port in 0..65535")]
    public void TryParseApiRejectsWithAReason(string? text, string reason)
    {
        Assert.False(NodeOptions.TryParseApi(text, out _, out var error));
        Assert.Equal(reason, error);
    }
}
