using Overlay.Node.Configuration;

namespace Overlay.Node.Tests;

public sealed class NodeConfigurationLoaderTests
{
    private static readonly Dictionary<string, string?> NoOverrides = new();

    [Fact]
    public void MalformedJsonNamesLineAndColumn()
    {
        using var dir = new TempDir();
        var path = dir.Write("node.config.json", "{\n  \"Node\": {\n    \"Port\": 4001,,\n  }\n}\n");

        var ex = Assert.Throws<ConfigException>(() => NodeConfigurationLoader.Load(path, NoOverrides, mustExist: true, includeEnvironment: false));

        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
        Assert.Contains("invalid JSON at line 3, column", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', ex.Message);
    }

    [Fact]
    public void WrongTypeNamesTheKey()
    {
        using var dir = new TempDir();
        var path = dir.Write("node.config.json", """{ "Kademlia": { "BucketSize": "twenty" } }""");

        var ex = Assert.Throws<ConfigException>(() => NodeConfigurationLoader.Load(path, NoOverrides, mustExist: true, includeEnvironment: false));

        Assert.Contains("Kademlia:BucketSize", ex.Message, StringComparison.Ordinal);
        Assert.Contains("'twenty'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("integer", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void WrongDurationNamesTheKeyAndFormat()
    {
        using var dir = new TempDir();
        var path = dir.Write("node.config.json", """{ "Node": { "GetTimeout": "soon" } }""");

        var ex = Assert.Throws<ConfigException>(() => NodeConfigurationLoader.Load(path, NoOverrides, mustExist: true, includeEnvironment: false));

        Assert.Contains("Node:GetTimeout", ex.Message, StringComparison.Ordinal);
        Assert.Contains("duration", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void OutOfRangeValueNamesKeyValueAndRange()
    {
        using var dir = new TempDir();
        var path = dir.Write("node.config.json", """{ "Kademlia": { "BucketSize": 65 } }""");

        var ex = Assert.Throws<ConfigException>(() => NodeConfigurationLoader.Load(path, NoOverrides, mustExist: true, includeEnvironment: false));

        Assert.Contains("Kademlia:BucketSize = 65", ex.Message, StringComparison.Ordinal);
        Assert.Contains("1..64", ex.Message, StringComparison.Ordinal);
        Assert.StartsWith(path, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UnknownKeyIsNamedWithTheKnownKeys()
    {
        using var dir = new TempDir();
        var path = dir.Write("node.config.json", """{ "Node": { "Prot": 4001 } }""");

        var ex = Assert.Throws<ConfigException>(() => NodeConfigurationLoader.Load(path, NoOverrides, mustExist: true, includeEnvironment: false));

        Assert.Contains("unknown key 'Node:Prot'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Port", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UnknownSectionIsAnError()
    {
        using var dir = new TempDir();
        var path = dir.Write("node.config.json", """{ "Nodes": { "Port": 4001 } }""");

        var ex = Assert.Throws<ConfigException>(() => NodeConfigurationLoader.Load(path, NoOverrides, mustExist: true, includeEnvironment: false));

        Assert.Contains("unknown section 'Nodes'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MissingExplicitFileIsAnError()
    {
        using var dir = new TempDir();
        var path = Path.Combine(dir.Path, "absent.json");

        var ex = Assert.Throws<ConfigException>(() => NodeConfigurationLoader.Load(path, NoOverrides, mustExist: true, includeEnvironment: false));

        Assert.Contains("file not found", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MissingDefaultFileGivesDefaults()
    {
        using var dir = new TempDir();
        var settings = NodeConfigurationLoader.Load(Path.Combine(dir.Path, "absent.json"), NoOverrides, mustExist: false, includeEnvironment: false);

        Assert.Equal(NodeOptions.DefaultPort, settings.Node.Port);
        Assert.Equal(20, settings.Kademlia.BucketSize);
    }

    [Fact]
    public void FlagOverrideWinsOverFileAndNamesCommandLineWhenBad()
    {
        using var dir = new TempDir();
        var path = dir.Write("node.config.json", """{ "Node": { "Port": 4001 } }""");

        var settings = NodeConfigurationLoader.Load(path, new Dictionary<string, string?> { ["Node:Port"] = "4100" }, mustExist: true, includeEnvironment: false);
        Assert.Equal(4100, settings.Node.Port);

        var ex = Assert.Throws<ConfigException>(() => NodeConfigurationLoader.Load(path, new Dictionary<string, string?> { ["Node:Port"] = "-1" }, mustExist: true, includeEnvironment: false));
        Assert.StartsWith("command line: Node:Port = -1", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void BootstrapFlagsReplaceTheFileList()
    {
        using var dir = new TempDir();
        var path = dir.Write("node.config.json", """{ "Node": { "Bootstrap": [ "127.0.0.1:4001", "127.0.0.1:4002", "127.0.0.1:4003" ] } }""");
        var overrides = new Dictionary<string, string?> { ["Node:Bootstrap:0"] = "127.0.0.1:5000" };

        var settings = NodeConfigurationLoader.Load(path, overrides, mustExist: true, includeEnvironment: false);

        Assert.Equal(["127.0.0.1:5000"], settings.Node.Bootstrap);
    }

    [Fact]
    public void BadBootstrapEntryNamesItsIndex()
    {
        using var dir = new TempDir();
        var path = dir.Write("node.config.json", """{ "Node": { "Bootstrap": [ "127.0.0.1:4001", "nohost" ] } }""");

        var ex = Assert.Throws<ConfigException>(() => NodeConfigurationLoader.Load(path, NoOverrides, mustExist: true, includeEnvironment: false));

        Assert.Contains("Node:Bootstrap:1 = 'nohost'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void NonLoopbackApiIsRefusedUnlessAllowed()
    {
        using var dir = new TempDir();
        var path = dir.Write("node.config.json", """{ "Node": { "Api": "0.0.0.0:5001" } }""");

        var ex = Assert.Throws<ConfigException>(() => NodeConfigurationLoader.Load(path, NoOverrides, mustExist: true, includeEnvironment: false));
        Assert.Contains("Node:Api", ex.Message, StringComparison.Ordinal);
        Assert.Contains("loopback", ex.Message, StringComparison.Ordinal);

        var allowed = NodeConfigurationLoader.Load(path, new Dictionary<string, string?> { ["Node:AllowRemoteApi"] = "true" }, mustExist: true, includeEnvironment: false);
        Assert.True(allowed.Node.AllowRemoteApi);
    }

    [Fact]
    public void ApiPortZeroIsAccepted()
    {
        using var dir = new TempDir();
        var settings = NodeConfigurationLoader.Load(Path.Combine(dir.Path, "absent.json"), new Dictionary<string, string?> { ["Node:Api"] = "127.0.0.1:0" }, mustExist: false, includeEnvironment: false);

        Assert.Equal("127.0.0.1:0", settings.Node.Api);
    }
}

/// <summary>Tests that set process environment variables; one collection, never run in parallel with each other.</summary>
[Collection(EnvironmentCollection.Name)]
public sealed class NodeConfigurationEnvironmentTests
{
    [Fact]
    public void EnvironmentWinsOverFileAndFlagWinsOverEnvironment()
    {
        using var dir = new TempDir();
        var path = dir.Write("node.config.json", """{ "Node": { "Port": 4001 } }""");
        var name = NodeConfigurationLoader.EnvironmentPrefix + "Node__Port";
        Environment.SetEnvironmentVariable(name, "4555");
        try
        {
            var fromEnvironment = NodeConfigurationLoader.Load(path, new Dictionary<string, string?>(), mustExist: true, includeEnvironment: true);
            Assert.Equal(4555, fromEnvironment.Node.Port);

            var fromFlag = NodeConfigurationLoader.Load(path, new Dictionary<string, string?> { ["Node:Port"] = "4666" }, mustExist: true, includeEnvironment: true);
            Assert.Equal(4666, fromFlag.Node.Port);

            var withoutEnvironment = NodeConfigurationLoader.Load(path, new Dictionary<string, string?>(), mustExist: true, includeEnvironment: false);
            Assert.Equal(4001, withoutEnvironment.Node.Port);
        }
        finally
        {
            Environment.SetEnvironmentVariable(name, null);
        }
    }

    [Fact]
    public void BadEnvironmentValueNamesTheVariable()
    {
        using var dir = new TempDir();
        var path = dir.Write("node.config.json", "{}");
        var name = NodeConfigurationLoader.EnvironmentPrefix + "Kademlia__Alpha";
        Environment.SetEnvironmentVariable(name, "many");
        try
        {
            var ex = Assert.Throws<ConfigException>(() => NodeConfigurationLoader.Load(path, new Dictionary<string, string?>(), mustExist: true, includeEnvironment: true));
            Assert.StartsWith("environment variable OVERLAY__Kademlia__Alpha", ex.Message, StringComparison.Ordinal);
            Assert.Contains("Kademlia:Alpha", ex.Message, StringComparison.Ordinal);
        }
        finally
        {
            Environment.SetEnvironmentVariable(name, null);
        }
    }
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class EnvironmentCollection
{
    public const string Name = "process environment";
}
