using System.CommandLine;
using System.CommandLine.Invocation;
using System.CommandLine.Parsing;
using System.Globalization;
using Overlay.Node.Api;
using Overlay.Node.Configuration;
using Overlay.Node.Daemon;

namespace Overlay.Node.Cli;

/// <summary>
/// The <c>overlay</c> command tree (System.CommandLine 2.0) and its error policy: a parse error, bad argument or
/// bad configuration prints one line <c>error: ...</c> and exits 2; API errors exit with
/// <see cref="ApiErrors.ExitCode"/>; an unreachable daemon exits 4 (see <see cref="ExitCodes"/>). With <c>--json</c>
/// the line is a JSON object <c>{"error", "code"}</c> on stdout instead (<see cref="CliError.WriteAsync"/>). No .NET
/// type name or stack reaches the user unless <see cref="DebugVariable"/> is 1.
/// </summary>
internal static class CliApp
{
    /// <summary>The environment variable that, set to 1, adds the exception and its stack to a failed command's stderr.</summary>
    public const string DebugVariable = "OVERLAY_DEBUG";

    /// <summary>Parses and runs a command line.</summary>
    /// <param name="args">The arguments.</param>
    /// <param name="cancellationToken">Cancels the command.</param>
    /// <returns>The process exit code.</returns>
    public static async Task<int> RunAsync(string[] args, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(args);
        var root = Build();
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0 && parse.Action is not { ClearsParseErrors: true })
        {
            // The --json option may be what failed to parse, so look at the raw arguments.
            await DescribeParseErrors(parse).WriteAsync(args.Contains("--json"), Console.Out, Console.Error).ConfigureAwait(false);
            return ExitCodes.Usage;
        }

        // The host's console lifetime owns SIGINT/SIGTERM for the daemon; client commands handle Ctrl+C themselves.
        var configuration = new InvocationConfiguration { ProcessTerminationTimeout = null };
        return await parse.InvokeAsync(configuration, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Turns System.CommandLine's parse errors into one line: a command that only groups others (<c>overlay</c>,
    /// <c>overlay dht</c>, <c>overlay node</c>) given an unknown word says "unknown command 'x' (see overlay --help)"
    /// and given nothing lists its subcommands; a value that does not parse names the option and the value (custom
    /// parsers phrase those; anything else loses System.CommandLine's .NET type name).
    /// </summary>
    /// <param name="parse">A parse result with at least one error.</param>
    /// <returns>The error, exit code 2, code <c>usage</c>.</returns>
    internal static CliError DescribeParseErrors(ParseResult parse)
    {
        ArgumentNullException.ThrowIfNull(parse);
        var command = parse.CommandResult.Command;
        var path = CommandPath(parse.CommandResult);
        if (command.Action is null && command.Subcommands.Count > 0)
        {
            var unknown = parse.UnmatchedTokens.FirstOrDefault();
            var message = unknown switch
            {
                null => $"{path} needs a command: {path} <{string.Join('|', command.Subcommands.Where(c => !c.Hidden).Select(c => c.Name))}> (see {path} --help)",
                _ when unknown.StartsWith('-') => $"unknown option '{unknown}' (see {path} --help)",
                _ => $"unknown command '{unknown}' (see {path} --help)",
            };
            return new CliError(message, ExitCodes.Usage, "usage");
        }

        return new CliError(WithoutTypeNames(parse.Errors[0].Message), ExitCodes.Usage, "usage");
    }

    /// <summary>Builds the command tree.</summary>
    /// <returns>The root command.</returns>
    public static RootCommand Build()
    {
        var api = new Option<string?>("--api") { Description = "The daemon's API, HOST:PORT (default: the api file in the data directory, else Node:Api)", Recursive = true };
        var json = new Option<bool>("--json") { Description = "Print the API's JSON instead of tables", Recursive = true };
        var dataDir = new Option<string?>("--data-dir") { Description = "Data directory (default: Node:DataDir, ~/.overlay)", Recursive = true };
        var config = new Option<string?>("--config") { Description = "Configuration file (default: <data-dir>/node.config.json, else the one next to the executable)", Recursive = true };
        var globals = new Globals(api, json, dataDir, config);

        var root = new RootCommand("overlay: a peer-to-peer overlay node (DHT, content exchange) and the CLI that drives it");
        root.Options.Add(api);
        root.Options.Add(json);
        root.Options.Add(dataDir);
        root.Options.Add(config);
        root.Subcommands.Add(BuildNode(globals));

        var id = new Command("id", "Show the daemon's node ID, public key and addresses");
        Client(id, globals, (context, _, ct) => InfoCommands.IdAsync(context, ct));
        root.Subcommands.Add(id);

        var status = new Command("status", "Show the daemon's counters: routing table, records, blocks, datagrams");
        Client(status, globals, (context, _, ct) => InfoCommands.StatusAsync(context, ct));
        root.Subcommands.Add(status);

        var peers = new Command("peers", "List the routing table's contacts");
        Client(peers, globals, (context, _, ct) => InfoCommands.PeersAsync(context, ct));
        root.Subcommands.Add(peers);

        var pingAddress = new Argument<string>("HOST:PORT") { Description = "The node's UDP address" };
        var ping = new Command("ping", "Ping a node") { pingAddress };
        Client(ping, globals, (context, parse, ct) => InfoCommands.PingAsync(context, parse.GetValue(pingAddress)!, ct));
        root.Subcommands.Add(ping);

        root.Subcommands.Add(BuildDht(globals));

        var watch = new Option<bool>("--watch", "-w") { Description = "Then print each connection event (connected, pathchanged, lost, closed) as it happens, until Ctrl-C" };
        var connections = new Command("connections", "List the daemon's secure sessions with peers: path (udp/tcp), RTT, bytes, streams, age") { watch };
        Client(connections, globals, (context, parse, ct) => ConnectionCommands.ListAsync(context, parse.GetValue(watch), ct));
        root.Subcommands.Add(connections);

        var connectPeer = new Argument<string>("PEER") { Description = "ID (address looked up in the DHT), HOST:PORT, or ID@HOST:PORT (that ID must be proven there)" };
        var connect = new Command("connect", "Open a secure session with a peer (UDP first, TCP raced) and show the handshake time") { connectPeer };
        Client(connect, globals, (context, parse, ct) => ConnectionCommands.ConnectAsync(context, parse.GetValue(connectPeer)!, ct));
        root.Subcommands.Add(connect);

        var addFile = new Argument<string>("FILE") { Description = "The file to add" };
        var add = new Command("add", "Add a file: stream it to the daemon, which stores and announces it; prints the CID") { addFile };
        Client(add, globals, (context, parse, ct) => ContentCommands.AddAsync(context, parse.GetValue(addFile)!, ct));
        root.Subcommands.Add(add);

        var getCid = new Argument<string>("CID") { Description = "The file's CID" };
        var getOutput = new Option<string>("--output", "-o") { Description = "Where to write the file (atomically: temporary file, then rename)", Required = true };
        var getForce = new Option<bool>("--force") { Description = "Replace FILE if it exists (otherwise an existing FILE is an error, checked before fetching)" };
        var get = new Command("get", "Fetch a file from its providers and write it to a file") { getCid, getOutput, getForce };
        Client(get, globals, (context, parse, ct) => ContentCommands.GetAsync(context, parse.GetValue(getCid)!, parse.GetValue(getOutput)!, parse.GetValue(getForce), ct));
        root.Subcommands.Add(get);

        var catCid = new Argument<string>("CID") { Description = "The file's CID" };
        var cat = new Command("cat", "Fetch a file from its providers and write it to stdout") { catCid };
        Client(cat, globals, async (context, parse, ct) =>
        {
            var stdout = Console.OpenStandardOutput();
            await using (stdout.ConfigureAwait(false))
            {
                return await ContentCommands.CatAsync(context, parse.GetValue(catCid)!, stdout, ct).ConfigureAwait(false);
            }
        });
        root.Subcommands.Add(cat);
        return root;
    }

    /// <summary>Turns a command-line failure into its one line, exit code and <c>--json</c> code.</summary>
    /// <param name="exception">The failure.</param>
    /// <returns>The error (its message without the <c>error: </c> prefix), or null for an exception that is a bug.</returns>
    internal static CliError? Describe(Exception exception) => exception switch
    {
        CliException cli => new(cli.Message, cli.ExitCode, cli.Code),
        ApiException api => new(api.Message, ApiErrors.ExitCode(ApiErrors.Code(api.Error)), ApiErrors.Code(api.Error)),
        ConfigException config => new(config.Message, ExitCodes.Usage, "usage"),
        HttpRequestException http => new($"the request to the daemon failed: {http.Message}", ExitCodes.Failure, "failure"),
        System.Text.Json.JsonException => new("the daemon's answer is not the JSON this CLI expects (is the daemon the same version?)", ExitCodes.Failure, "failure"),
        IOException io => new(io.Message, ExitCodes.Failure, "io"),
        UnauthorizedAccessException denied => new(denied.Message, ExitCodes.Failure, "io"),
        _ => null,
    };

    /// <summary>The one line for an exception that <see cref="Describe"/> does not know (a bug): its message, no type name or stack.</summary>
    /// <param name="exception">The exception.</param>
    /// <returns>The error, exit code 1, code <c>internal</c>.</returns>
    internal static CliError Unexpected(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        return new CliError($"unexpected failure: {exception.Message} (set {DebugVariable}=1 for details)", ExitCodes.Failure, "internal");
    }

    /// <summary>Returns a System.CommandLine message with its .NET type names removed ("as expected type 'System.Int32'").</summary>
    /// <param name="message">The message.</param>
    /// <returns>The message, e.g. "Cannot parse argument 'x' for option '--y'".</returns>
    internal static string WithoutTypeNames(string message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var match = System.Text.RegularExpressions.Regex.Match(message, "^Cannot parse argument '(?<value>.*)' for (option|argument) '(?<name>[^']*)' as expected type '[^']*'\\.?$");
        return match.Success
            ? $"{match.Groups["name"].Value}: '{match.Groups["value"].Value}' is not a valid value"
            : System.Text.RegularExpressions.Regex.Replace(message, "System\\.[A-Za-z0-9_.`\\[\\]]+", "a value");
    }

    /// <summary>Parses <c>--seq</c>: a whole number ≥ 0, else an error naming the option and the value.</summary>
    /// <param name="result">The option's tokens.</param>
    /// <returns>The sequence, or null after adding an error.</returns>
    internal static long? ParseSequence(ArgumentResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var text = result.Tokens.Count > 0 ? result.Tokens[0].Value : string.Empty;
        if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value))
        {
            return value;
        }

        result.AddError($"--seq: '{text}' is not a whole number ≥ 0");
        return null;
    }

    /// <summary>Parses <c>--port</c>: 0..65535, else an error naming the option and the value.</summary>
    /// <param name="result">The option's tokens.</param>
    /// <returns>The port, or null after adding an error.</returns>
    internal static int? ParsePort(ArgumentResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var text = result.Tokens.Count > 0 ? result.Tokens[0].Value : string.Empty;
        if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value <= 65535)
        {
            return value;
        }

        result.AddError($"--port: '{text}' is not a port number (0..65535; 0 = any free port)");
        return null;
    }

    private static Command BuildNode(Globals globals)
    {
        var port = new Option<int?>("--port") { Description = "UDP and TCP port (Node:Port; 0 = any free port)", CustomParser = ParsePort };
        var bootstrap = new Option<string[]>("--bootstrap") { Description = "Bootstrap contacts HOST:PORT, comma-separated or repeated (Node:Bootstrap)", AllowMultipleArgumentsPerToken = false };
        var listen = new Option<string?>("--listen") { Description = "IP address to bind (Node:ListenAddress)" };
        var run = new Command("run", "Run the daemon: DHT node, block exchange and local API, until SIGINT/SIGTERM") { port, bootstrap, listen };
        run.SetAction(async (parse, ct) =>
        {
            var overrides = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
            AddIfSet(overrides, "Node:DataDir", parse.GetValue(globals.DataDir));
            AddIfSet(overrides, "Node:Api", parse.GetValue(globals.Api));
            AddIfSet(overrides, "Node:ListenAddress", parse.GetValue(listen));
            if (parse.GetValue(port) is { } p)
            {
                overrides["Node:Port"] = p.ToString(System.Globalization.CultureInfo.InvariantCulture);
            }

            var contacts = (parse.GetValue(bootstrap) ?? [])
                .SelectMany(b => b.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                .ToArray();
            for (var i = 0; i < contacts.Length; i++)
            {
                overrides[$"Node:Bootstrap:{i}"] = contacts[i];
            }

            NodeSettings settings;
            try
            {
                var configFlag = parse.GetValue(globals.Config);
                var path = NodeConfigurationLoader.ResolveConfigPath(configFlag, parse.GetValue(globals.DataDir));
                settings = NodeConfigurationLoader.Load(path, overrides, mustExist: !string.IsNullOrWhiteSpace(configFlag));
            }
            catch (ConfigException ex)
            {
                await Describe(ex)!.WriteAsync(parse.GetValue(globals.Json), Console.Out, Console.Error).ConfigureAwait(false);
                return ExitCodes.Usage;
            }

            return await NodeHost.RunAsync(settings, Console.Out, Console.Error, ct).ConfigureAwait(false);
        });
        return new Command("node", "Run and manage the daemon") { run };
    }

    private static Command BuildDht(Globals globals)
    {
        var findId = new Argument<string>("ID") { Description = "Target node ID, 64 hexadecimal characters" };
        var findNode = new Command("find-node", "Find the k closest nodes to an ID") { findId };
        Client(findNode, globals, (context, parse, ct) => InfoCommands.FindNodeAsync(context, parse.GetValue(findId)!, ct));

        var putValue = new Argument<string>("VALUE") { Description = "The value (text, stored as UTF-8, at most 1000 bytes)" };
        var mutable = new Option<bool>("--mutable") { Description = "Store a mutable record signed by the daemon's key, keyed by its public key and the salt" };
        var salt = new Option<string?>("--salt") { Description = "Salt of a mutable record (at most 64 bytes)" };
        var sequence = new Option<long?>("--seq") { Description = "Sequence number of a mutable record (≥ 0; higher replaces lower; default: one more than the highest found in the DHT, else 0)", CustomParser = ParseSequence };
        var put = new Command("put", "Store a record in the DHT") { putValue, mutable, salt, sequence };
        Client(put, globals, (context, parse, ct) => InfoCommands.PutAsync(context, parse.GetValue(putValue)!, parse.GetValue(mutable), parse.GetValue(salt), parse.GetValue(sequence), ct));

        var getKey = new Argument<string>("KEY") { Description = "The record's key, 64 hexadecimal characters" };
        var get = new Command("get", "Look up a record in the DHT") { getKey };
        Client(get, globals, (context, parse, ct) => InfoCommands.GetAsync(context, parse.GetValue(getKey)!, ct));

        var providersCid = new Argument<string>("CID") { Description = "The content's CID" };
        var providers = new Command("providers", "Find the providers of a CID") { providersCid };
        Client(providers, globals, (context, parse, ct) => InfoCommands.ProvidersAsync(context, parse.GetValue(providersCid)!, ct));

        return new Command("dht", "Query the DHT directly") { findNode, put, get, providers };
    }

    /// <summary>Sets a client command's action: builds its context, handles Ctrl+C, and maps failures to one line and an exit code.</summary>
    private static void Client(Command command, Globals globals, Func<CliContext, ParseResult, CancellationToken, Task<int>> body)
    {
        command.SetAction(async (parse, ct) =>
        {
            var json = parse.GetValue(globals.Json);
            using var cancel = CancellationTokenSource.CreateLinkedTokenSource(ct);
            ConsoleCancelEventHandler onCancel = (_, e) =>
            {
                e.Cancel = true;
                cancel.Cancel();
            };
            Console.CancelKeyPress += onCancel;
            try
            {
                var context = new CliContext(
                    json,
                    () => ApiLocator.Resolve(parse.GetValue(globals.Api), parse.GetValue(globals.DataDir), parse.GetValue(globals.Config)),
                    Console.Out,
                    Console.Error,
                    !Console.IsOutputRedirected,
                    !Console.IsErrorRedirected);
                return await body(context, parse, cancel.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancel.IsCancellationRequested)
            {
                await new CliError("cancelled", ExitCodes.Failure, "cancelled").WriteAsync(json, Console.Out, Console.Error).ConfigureAwait(false);
                return ExitCodes.Failure;
            }
            catch (Exception ex) when (Describe(ex) is not null)
            {
                var error = Describe(ex)!;
                await error.WriteAsync(json, Console.Out, Console.Error).ConfigureAwait(false);
                await WriteDebugAsync(ex).ConfigureAwait(false);
                return error.ExitCode;
            }
#pragma warning disable CA1031 // The CLI's boundary: a bug must still end in one line and exit 1, not a stack trace.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                await Unexpected(ex).WriteAsync(json, Console.Out, Console.Error).ConfigureAwait(false);
                await WriteDebugAsync(ex).ConfigureAwait(false);
                return ExitCodes.Failure;
            }
            finally
            {
                Console.CancelKeyPress -= onCancel;
            }
        });
    }

    /// <summary>Writes the exception with its stack to stderr when <see cref="DebugVariable"/> is 1.</summary>
    private static async Task WriteDebugAsync(Exception exception)
    {
        if (Environment.GetEnvironmentVariable(DebugVariable) == "1")
        {
            await Console.Error.WriteLineAsync(exception.ToString()).ConfigureAwait(false);
        }
    }

    /// <summary>Returns "overlay", "overlay dht", ... for a command result.</summary>
    private static string CommandPath(CommandResult result)
    {
        var names = new List<string>();
        for (SymbolResult? r = result; r is CommandResult c; r = c.Parent)
        {
            names.Insert(0, c.Parent is null ? "overlay" : c.Command.Name);
        }

        return string.Join(' ', names);
    }

    private static void AddIfSet(Dictionary<string, string?> overrides, string key, string? value)
    {
        if (!string.IsNullOrWhiteSpace(value))
        {
            overrides[key] = value;
        }
    }

    /// <summary>The global options, shared by every subcommand.</summary>
    private sealed record Globals(Option<string?> Api, Option<bool> Json, Option<string?> DataDir, Option<string?> Config);
}
