namespace Overlay.Node.Cli;

/// <summary>Where the CLI sends its requests and the token it sends with them (see <see cref="ApiLocator"/>).</summary>
/// <param name="BaseUri">The API's base, <c>http://host:port/</c>.</param>
/// <param name="Token">The daemon's token read from <paramref name="TokenPath"/>, or null when that file is missing or unreadable (the daemon then answers 401).</param>
/// <param name="TokenPath">The token file the CLI read or looked for: <c>&lt;data-dir&gt;/api.token</c>.</param>
internal sealed record ApiTarget(Uri BaseUri, string? Token, string TokenPath);
