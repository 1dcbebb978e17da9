using System.Collections;
using System.Reflection;
using Microsoft.Extensions.Configuration;
using Overlay.Exchange;
using Overlay.Kademlia;
using Overlay.Node.Configuration;

namespace Overlay.Node.Tests;

public sealed class ShippedConfigTests
{
    private static string ShippedPath => Path.Combine(TempDir.RepoRoot(), NodeConfigurationLoader.FileName);

    [Fact]
    public void ShippedConfigLoadsAndEqualsTheDefaults()
    {
        var settings = NodeConfigurationLoader.Load(ShippedPath, new Dictionary<string, string?>(), mustExist: true, includeEnvironment: false);

        AssertDefaults(new NodeOptions(), settings.Node);
        AssertDefaults(new KademliaOptions(), settings.Kademlia);
        AssertDefaults(new ExchangeOptions(), settings.Exchange);
        AssertDefaults(new StorageOptions(), settings.Storage);
        AssertDefaults(new ApiOptions(), settings.Api);
    }

    [Fact]
    public void ShippedConfigSetsEveryKeyOfEverySection()
    {
        var configuration = NodeConfigurationLoader.Build(ShippedPath, new Dictionary<string, string?>(), mustExist: true, includeEnvironment: false);
        (string Section, Type Type)[] sections =
        [
            ("Node", typeof(NodeOptions)), ("Kademlia", typeof(KademliaOptions)), ("Exchange", typeof(ExchangeOptions)), ("Storage", typeof(StorageOptions)),
            ("Api", typeof(ApiOptions)),
        ];

        foreach (var (section, type) in sections)
        {
            var present = configuration.GetSection(section).GetChildren().Select(c => c.Key).ToHashSet(StringComparer.OrdinalIgnoreCase);
            foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite))
            {
                Assert.True(present.Contains(property.Name), $"{section}:{property.Name} is missing from node.config.json");
            }
        }

        Assert.True(configuration.GetSection("Logging:LogLevel").Exists(), "Logging:LogLevel is missing from node.config.json");
    }

    [Fact]
    public void ShippedConfigHasACommentOnEveryKey()
    {
        var lines = File.ReadAllLines(ShippedPath);
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i].Trim();
            var isKey = line.StartsWith('"') && line.Contains("\":", StringComparison.Ordinal);
            if (isKey && !line.EndsWith('{'))
            {
                Assert.True(i > 0 && lines[i - 1].Trim().StartsWith("//", StringComparison.Ordinal), $"line {i + 1} ({line}) has no // comment above it");
            }
        }
    }

    private static void AssertDefaults<T>(T expected, T actual)
    {
        foreach (var property in typeof(T).GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite))
        {
            var e = property.GetValue(expected);
            var a = property.GetValue(actual);
            if (e is IEnumerable eList and not string)
            {
                Assert.Equal(eList.Cast<object>(), ((IEnumerable)a!).Cast<object>());
            }
            else
            {
                Assert.True(Equals(e, a), $"{typeof(T).Name}.{property.Name}: default {e}, shipped {a}");
            }
        }
    }
}
