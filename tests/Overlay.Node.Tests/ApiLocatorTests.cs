using Overlay.Node.Cli;
using Overlay.Node.Daemon;
using Overlay.Node.Configuration;

namespace Overlay.Node.Tests;

public sealed class ApiLocatorTests
{
    [Fact]
    public void FlagThenApiFileThenConfiguration()
    {
        using var dir = new TempDir();
        var config = dir.Write("node.config.json", """{ "Node": { "Api": "127.0.0.1:6001" } }""");

        Assert.Equal(new Uri("http://127.0.0.1:6001/"), ApiLocator.Resolve(null, dir.Path, config, includeEnvironment: false).BaseUri);

        Assert.True(ApiFile.Write(ApiFile.PathIn(dir.Path), "http://127.0.0.1:7001", Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance));
        Assert.Equal(new Uri("http://127.0.0.1:7001/"), ApiLocator.Resolve(null, dir.Path, config, includeEnvironment: false).BaseUri);

        Assert.Equal(new Uri("http://127.0.0.1:8001/"), ApiLocator.Resolve("127.0.0.1:8001", dir.Path, config, includeEnvironment: false).BaseUri);
    }

    [Fact]
    public void ApiFileIsRemovedOnlyWhenItStillNamesUs()
    {
        using var dir = new TempDir();
        var path = ApiFile.PathIn(dir.Path);
        var logger = Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
        ApiFile.Write(path, "http://127.0.0.1:7001", logger);

        ApiFile.Remove(path, "http://127.0.0.1:7002", logger);
        Assert.Equal("http://127.0.0.1:7001", ApiFile.TryRead(path));

        ApiFile.Remove(path, "http://127.0.0.1:7001", logger);
        Assert.False(File.Exists(path));
        Assert.Null(ApiFile.TryRead(path));
    }

    [Theory]
    [InlineData("nonsense", "--api 'nonsense' is not host:port")]
    [InlineData("127.0.0.1:0", "has port 0")]
    [InlineData("example.com:5001", "must name an IP address or localhost")]
    public void BadApiFlagIsAUsageError(string flag, string message)
    {
        var ex = Assert.Throws<CliException>(() => ApiLocator.Resolve(flag, null, null, includeEnvironment: false));

        Assert.Equal(ExitCodes.Usage, ex.ExitCode);
        Assert.Contains(message, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MissingExplicitConfigIsAConfigError()
    {
        using var dir = new TempDir();
        Assert.Throws<ConfigException>(() => ApiLocator.Resolve(null, dir.Path, Path.Combine(dir.Path, "absent.json"), includeEnvironment: false));
    }

    [Theory]
    [InlineData("")]
    [InlineData("get bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e")]
    [InlineData("node run --port abc")]
    [InlineData("dht find-node")]
    [InlineData("frobnicate")]
    public async Task ParseErrorsExitWithUsage(string commandLine)
    {
        Assert.Equal(ExitCodes.Usage, await CliApp.RunAsync(commandLine.Split(' ', StringSplitOptions.RemoveEmptyEntries)));
    }

    [Fact]
    public async Task BadNodeIdIsRejectedBeforeContactingTheDaemon()
    {
        Assert.Equal(ExitCodes.Usage, await CliApp.RunAsync(["dht", "find-node", "xyz", "--api", "127.0.0.1:9"]));
    }

    [Fact]
    public async Task UnreachableDaemonExitsWith4()
    {
        Assert.Equal(ExitCodes.DaemonUnreachable, await CliApp.RunAsync(["id", "--api", "127.0.0.1:9"]));
    }
}
