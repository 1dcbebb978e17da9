using System.ComponentModel;
using System.Globalization;
using System.Reflection;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.EnvironmentVariables;
using Microsoft.Extensions.Configuration.Json;
using Microsoft.Extensions.Configuration.Memory;
using Overlay.Exchange;
using Overlay.Kademlia;
using Overlay.Transport.Connections;

namespace Overlay.Node.Configuration;

/// <summary>
/// Loads node.config.json, then <c>OVERLAY__Section__Key</c> environment variables, then command-line overrides,
/// checks every value's type before binding (so a wrong type names its key), binds the option classes and validates
/// them. Every failure is a <see cref="ConfigException"/> with one line naming the source and key.
/// </summary>
internal static partial class NodeConfigurationLoader
{
    /// <summary>The configuration file name.</summary>
    public const string FileName = "node.config.json";

    /// <summary>Prefix of environment variables that override the file, e.g. <c>OVERLAY__Node__Port=4002</c>.</summary>
    public const string EnvironmentPrefix = "OVERLAY__";

    /// <summary>Sections that hold options bound here; Logging is passed to the logging system as-is.</summary>
    private static readonly (string Section, Type Type)[] Sections =
    [
        (NodeOptions.SectionName, typeof(NodeOptions)),
        ("Kademlia", typeof(KademliaOptions)),
        ("Exchange", typeof(ExchangeOptions)),
        (ConnectionManagerOptions.SectionName, typeof(ConnectionManagerOptions)),
        (StorageOptions.SectionName, typeof(StorageOptions)),
        (ApiOptions.SectionName, typeof(ApiOptions)),
    ];

    /// <summary>
    /// Picks the configuration file: <paramref name="explicitPath"/> if given, else <c>&lt;data-dir&gt;/node.config.json</c>
    /// if it exists, else the node.config.json next to the executable (the documented defaults).
    /// </summary>
    /// <param name="explicitPath">The <c>--config</c> flag, or null.</param>
    /// <param name="dataDir">The data directory from the flag or environment, or null.</param>
    /// <returns>The path to read (it may not exist unless explicit).</returns>
    public static string ResolveConfigPath(string? explicitPath, string? dataDir)
    {
        if (!string.IsNullOrWhiteSpace(explicitPath))
        {
            return Path.GetFullPath(ExpandPath(explicitPath));
        }

        if (!string.IsNullOrWhiteSpace(dataDir))
        {
            var candidate = Path.Combine(ExpandPath(dataDir), FileName);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return Path.Combine(AppContext.BaseDirectory, FileName);
    }

    /// <summary>Loads, type-checks, binds and validates every section.</summary>
    /// <param name="configPath">The file to read; a missing file is an error only when <paramref name="mustExist"/>.</param>
    /// <param name="overrides">Flag overrides as configuration keys (<c>Node:Port</c>), applied last.</param>
    /// <param name="mustExist">Whether a missing file is an error (true for an explicit <c>--config</c>).</param>
    /// <param name="includeEnvironment">Whether <c>OVERLAY__</c> environment variables apply (tests turn it off).</param>
    /// <returns>The validated settings.</returns>
    /// <exception cref="ConfigException">The file is unreadable or malformed, a value has the wrong type, a key is unknown, or an option is out of range.</exception>
    public static NodeSettings Load(string configPath, IReadOnlyDictionary<string, string?> overrides, bool mustExist, bool includeEnvironment = true)
    {
        var configuration = Build(configPath, overrides, mustExist, includeEnvironment);
        var errors = new List<(string Key, string Message)>();
        var bound = new Dictionary<string, object>(StringComparer.OrdinalIgnoreCase);
        foreach (var (sectionName, type) in Sections)
        {
            var section = configuration.GetSection(sectionName);
            CheckSection(section, type, errors);
            var instance = Activator.CreateInstance(type)!;
            bound[sectionName] = instance;
        }

        var unknownSection = configuration.GetChildren()
            .FirstOrDefault(c => !c.Key.Equals("Logging", StringComparison.OrdinalIgnoreCase) && !Sections.Any(s => s.Section.Equals(c.Key, StringComparison.OrdinalIgnoreCase)));
        if (unknownSection is not null)
        {
            errors.Add((unknownSection.Path, $"unknown section '{unknownSection.Key}' (known: Node, Kademlia, Exchange, Connections, Storage, Api, Logging)"));
        }

        ThrowIfAny(configuration, configPath, errors);
        foreach (var (sectionName, _) in Sections)
        {
            try
            {
                configuration.GetSection(sectionName).Bind(bound[sectionName]);
            }
            catch (InvalidOperationException ex)
            {
                // The type pre-check above should catch every conversion failure; this keeps the one-line promise if not.
                throw new ConfigException($"{DescribeSource(configuration, configPath, sectionName)}: section '{sectionName}': {ex.Message}", ex);
            }
        }

        var node = (NodeOptions)bound[NodeOptions.SectionName];
        var bootstrapOverride = overrides
            .Where(o => o.Key.StartsWith("Node:Bootstrap:", StringComparison.OrdinalIgnoreCase) && o.Value is not null)
            .Select(o => o.Value!)
            .ToArray();
        if (bootstrapOverride.Length > 0)
        {
            // The binder merges arrays by index; a flag's list replaces the file's list instead.
            node.Bootstrap = bootstrapOverride;
        }

        var kademlia = (KademliaOptions)bound["Kademlia"];
        var exchange = (ExchangeOptions)bound["Exchange"];
        var connections = (ConnectionManagerOptions)bound[ConnectionManagerOptions.SectionName];
        var storage = (StorageOptions)bound[StorageOptions.SectionName];
        var api = (ApiOptions)bound[ApiOptions.SectionName];
        foreach (var message in node.Validate().Concat(kademlia.Validate()).Concat(ValidateExchange(exchange)).Concat(connections.Validate()).Concat(storage.Validate()).Concat(api.Validate()))
        {
            errors.Add((KeyOf(message), message.TrimEnd('.')));
        }

        ThrowIfAny(configuration, configPath, errors);
        return new NodeSettings(configPath, configuration, node, kademlia, exchange, connections, storage, api);
    }

    /// <summary>
    /// Builds the merged configuration without binding or validating it (the CLI uses it to find <c>Node:Api</c>).
    /// </summary>
    /// <param name="configPath">The file to read.</param>
    /// <param name="overrides">Overrides applied last.</param>
    /// <param name="mustExist">Whether a missing file is an error.</param>
    /// <param name="includeEnvironment">Whether <c>OVERLAY__</c> environment variables apply.</param>
    /// <returns>The configuration.</returns>
    /// <exception cref="ConfigException">The file is missing (when required), unreadable or not valid JSON.</exception>
    public static IConfigurationRoot Build(string configPath, IReadOnlyDictionary<string, string?> overrides, bool mustExist, bool includeEnvironment = true)
    {
        var exists = File.Exists(configPath);
        if (!exists && mustExist)
        {
            throw new ConfigException($"{configPath}: file not found");
        }

        if (exists)
        {
            CheckJson(configPath);
        }

        var builder = new ConfigurationBuilder();
        if (exists)
        {
            builder.AddJsonFile(configPath, optional: false, reloadOnChange: false);
        }

        if (includeEnvironment)
        {
            builder.AddEnvironmentVariables(EnvironmentPrefix);
        }

        builder.AddInMemoryCollection(overrides);
        try
        {
            return builder.Build();
        }
        catch (InvalidDataException ex)
        {
            // Duplicate keys and the like, found by the JSON provider after the syntax check passed.
            throw new ConfigException($"{configPath}: {ex.InnerException?.Message ?? ex.Message}", ex);
        }
        catch (IOException ex)
        {
            throw new ConfigException($"{configPath}: cannot read: {ex.Message}", ex);
        }
    }

    /// <summary>Expands a leading <c>~</c> to the home directory and makes the path absolute.</summary>
    /// <param name="path">A path.</param>
    /// <returns>The absolute path.</returns>
    public static string ExpandPath(string path)
    {
        if (path == "~" || path.StartsWith("~/", StringComparison.Ordinal))
        {
            path = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile) + path[1..];
        }

        return Path.GetFullPath(path);
    }

    private static IReadOnlyList<string> ValidateExchange(ExchangeOptions options) => options.Validate();

    private static void CheckJson(string configPath)
    {
        string text;
        try
        {
            text = File.ReadAllText(configPath);
        }
        catch (IOException ex)
        {
            throw new ConfigException($"{configPath}: cannot read: {ex.Message}", ex);
        }
        catch (UnauthorizedAccessException ex)
        {
            throw new ConfigException($"{configPath}: cannot read: {ex.Message}", ex);
        }

        try
        {
            using var document = JsonDocument.Parse(text, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new ConfigException($"{configPath}: the top level must be a JSON object with sections Node, Kademlia, Exchange, Connections, Storage, Api, Logging");
            }
        }
        catch (JsonException ex)
        {
            var reason = ex.Message;
            var cut = reason.IndexOf(" LineNumber:", StringComparison.Ordinal);
            if (cut > 0)
            {
                reason = reason[..cut];
            }

            var where = ex.LineNumber is { } line ? $" at line {line + 1}, column {(ex.BytePositionInLine ?? 0) + 1}" : string.Empty;
            throw new ConfigException($"{configPath}: invalid JSON{where}: {reason.TrimEnd('.')}", ex);
        }
    }

    private static void CheckSection(IConfigurationSection section, Type type, List<(string Key, string Message)> errors)
    {
        if (section.Value is { Length: > 0 } && !section.GetChildren().Any())
        {
            errors.Add((section.Path, $"'{section.Path}' must be an object, not the value '{section.Value}'"));
            return;
        }

        var properties = type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite).ToArray();
        foreach (var child in section.GetChildren())
        {
            var property = properties.FirstOrDefault(p => p.Name.Equals(child.Key, StringComparison.OrdinalIgnoreCase));
            if (property is null)
            {
                errors.Add((child.Path, $"unknown key '{child.Path}' (known: {string.Join(", ", properties.Select(p => p.Name))})"));
                continue;
            }

            var propertyType = property.PropertyType;
            var hasChildren = child.GetChildren().Any();
            if (propertyType.IsArray)
            {
                if (!hasChildren && !string.IsNullOrEmpty(child.Value))
                {
                    errors.Add((child.Path, $"'{child.Path}' must be an array, not the value '{child.Value}'"));
                }

                continue;
            }

            if (hasChildren)
            {
                errors.Add((child.Path, $"'{child.Path}' must be a single {DescribeType(propertyType)}, not an object or array"));
                continue;
            }

            if (!CanConvert(child.Value, propertyType))
            {
                errors.Add((child.Path, $"'{child.Path}' value '{child.Value}' is not a valid {DescribeType(propertyType)}"));
            }
        }
    }

    private static bool CanConvert(string? value, Type type)
    {
        if (type == typeof(string))
        {
            return true;
        }

        if (string.IsNullOrWhiteSpace(value))
        {
            return false;
        }

        if (type == typeof(TimeSpan))
        {
            return TimeSpan.TryParse(value, CultureInfo.InvariantCulture, out _);
        }

        try
        {
            TypeDescriptor.GetConverter(type).ConvertFromInvariantString(value);
            return true;
        }
        catch (Exception ex) when (ex is FormatException or NotSupportedException or ArgumentException or OverflowException)
        {
            return false;
        }
    }

    private static string DescribeType(Type type) =>
        type == typeof(int) || type == typeof(long) ? "integer"
        : type == typeof(bool) ? "boolean (true or false)"
        : type == typeof(TimeSpan) ? "duration (d.hh:mm:ss[.fff], e.g. 00:00:30)"
        : type == typeof(double) ? "number"
        : type.IsEnum ? $"one of {string.Join(", ", Enum.GetNames(type))}"
        : type.Name;

    private static void ThrowIfAny(IConfigurationRoot configuration, string configPath, List<(string Key, string Message)> errors)
    {
        if (errors.Count == 0)
        {
            return;
        }

        var first = errors[0];
        var more = errors.Count > 1 ? $" (and {errors.Count - 1} more: {string.Join("; ", errors.Skip(1).Select(e => e.Message))})" : string.Empty;
        throw new ConfigException($"{DescribeSource(configuration, configPath, first.Key)}: {first.Message}{more}");
    }

    /// <summary>Names where the value of <paramref name="key"/> came from: the last provider that sets it wins.</summary>
    private static string DescribeSource(IConfigurationRoot configuration, string configPath, string key)
    {
        foreach (var provider in configuration.Providers.Reverse())
        {
            if (!provider.TryGet(key, out _) && !provider.GetChildKeys([], key).Any())
            {
                continue;
            }

            return provider switch
            {
                EnvironmentVariablesConfigurationProvider => $"environment variable {EnvironmentPrefix}{key.Replace(":", "__", StringComparison.Ordinal)}",
                MemoryConfigurationProvider => "command line",
                JsonConfigurationProvider => configPath,
                _ => configPath,
            };
        }

        return configPath;
    }

    private static string KeyOf(string message)
    {
        var match = KeyPattern().Match(message);
        return match.Success ? match.Groups[1].Value : string.Empty;
    }

    [GeneratedRegex(@"^([A-Za-z]+:[A-Za-z]+(?::\d+)?)")]
    private static partial Regex KeyPattern();
}
