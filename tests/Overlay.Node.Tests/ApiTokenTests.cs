using Microsoft.Extensions.Logging.Abstractions;
using Overlay.Node.Configuration;
using Overlay.Node.Daemon;

namespace Overlay.Node.Tests;

public sealed class ApiTokenTests
{
    [Fact]
    public void TokensAre64HexCharactersAndDiffer()
    {
        var tokens = Enumerable.Range(0, 100).Select(_ => ApiToken.Create()).ToList();

        Assert.All(tokens, t => Assert.Matches("^[0-9a-f]{64}$", t));
        Assert.Equal(100, tokens.Distinct().Count());
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void WriteReplacesAnOldFileWithMode0600()
    {
        using var dir = new TempDir();
        var path = ApiToken.PathIn(dir.Path);
        File.WriteAllText(path, "old\n");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        var token = ApiToken.Create();

        ApiToken.Write(path, token);

        Assert.Equal(token, ApiToken.TryRead(path));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        Assert.Single(Directory.GetFiles(dir.Path));
    }

    [Fact]
    public void RemoveDeletesOnlyOurToken()
    {
        using var dir = new TempDir();
        var path = ApiToken.PathIn(dir.Path);
        var ours = ApiToken.Create();
        var theirs = ApiToken.Create();
        ApiToken.Write(path, theirs);

        ApiToken.Remove(path, ours, NullLogger.Instance);
        Assert.Equal(theirs, ApiToken.TryRead(path));

        ApiToken.Remove(path, theirs, NullLogger.Instance);
        Assert.False(File.Exists(path));
        Assert.Null(ApiToken.TryRead(path));
    }

    [Fact]
    public void MatchesIsExactEquality()
    {
        var token = ApiToken.Create();

        Assert.True(ApiToken.Matches(token, token));
        Assert.False(ApiToken.Matches(token.ToUpperInvariant(), token));
        Assert.False(ApiToken.Matches(token.AsSpan(0, 63), token));
        Assert.False(ApiToken.Matches(string.Empty, token));
    }

    [Theory]
    [InlineData("http://localhost:8080", "http://localhost:8080")]
    [InlineData("HTTP://LocalHost:8080", "http://localhost:8080")]
    [InlineData("https://example.org:443", "https://example.org")]
    [InlineData("http://example.org:80", "http://example.org")]
    [InlineData("http://[::1]:3000", "http://[::1]:3000")]
    public void OriginsAreCanonicalised(string text, string canonical)
    {
        Assert.True(ApiOptions.TryNormalizeOrigin(text, out var origin, out var reason), reason);
        Assert.Equal(canonical, origin);
    }

    [Theory]
    [InlineData("localhost:8080")]
    [InlineData("http://localhost:8080/")]
    [InlineData("http://localhost:8080/app")]
    [InlineData("http://user@localhost:8080")]
    [InlineData("file:///tmp/x.html")]
    [InlineData("null")]
    [InlineData("*")]
    public void BadAllowedOriginStopsStartUpNamingKeyAndValue(string origin)
    {
        using var dir = new TempDir();
        var path = dir.Write("node.config.json", $$"""{ "Api": { "AllowedOrigins": [ "http://ok.example", "{{origin}}" ] } }""");

        var ex = Assert.Throws<ConfigException>(() => NodeConfigurationLoader.Load(path, new Dictionary<string, string?>(), mustExist: true, includeEnvironment: false));

        Assert.Contains($"Api:AllowedOrigins:1 = '{origin}' is not an origin scheme://host[:port]", ex.Message, StringComparison.Ordinal);
    }
}
