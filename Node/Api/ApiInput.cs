using Overlay.Kademlia;
using Overlay.Node.Configuration;
using Overlay.Storage;

namespace Overlay.Node.Api;

/// <summary>
/// Parses request input (route values, query strings) and turns malformed input into an <see cref="ApiException"/>
/// of kind <see cref="ApiError.BadRequest"/> whose message quotes the input and says what is wrong. Shared by the API
/// and the CLI, so both reject the same input with the same words. Thread-safe (stateless).
/// </summary>
internal static class ApiInput
{
    /// <summary>Longest input quoted back in a message, characters; longer input is cut and marked with an ellipsis.</summary>
    private const int MaxQuoted = 80;

    /// <summary>Parses a CID in any form <see cref="Cid.Parse"/> reads: CIDv0 (<c>Qm…</c>) or a CIDv1 in multibase b, B, z, f, F, k, K, m, M, u or U.</summary>
    /// <param name="text">The text, e.g. <c>bafkrei…</c> or <c>Qm…</c>.</param>
    /// <returns>The CID (always version 1; print it with <see cref="Cid.ToString"/> for the base32 form).</returns>
    /// <exception cref="ApiException"><see cref="ApiError.BadRequest"/>: the text is not a CID; the message quotes it and gives the reason.</exception>
    public static Cid ParseCid(string? text)
    {
        if (Cid.TryParse(text ?? string.Empty, out var cid, out var error))
        {
            return cid;
        }

        throw new ApiException(ApiError.BadRequest, $"'{Quote(text)}' is not a CID: {error}");
    }

    /// <summary>Parses a node ID or DHT key: 64 hexadecimal characters.</summary>
    /// <param name="text">The text.</param>
    /// <param name="what">What the value is, for the message ("node ID", "key").</param>
    /// <returns>The ID.</returns>
    /// <exception cref="ApiException"><see cref="ApiError.BadRequest"/>: the text is not 64 hexadecimal characters; the message says how long it was or that it has a non-hex character.</exception>
    public static NodeId ParseNodeId(string? text, string what)
    {
        if (NodeId.TryParse(text, out var id))
        {
            return id;
        }

        var length = text?.Length ?? 0;
        var reason = length != NodeId.Length * 2
            ? $"it has {length} characters"
            : "it has a character that is not hexadecimal";
        throw new ApiException(ApiError.BadRequest, $"'{Quote(text)}' is not a {what}: a {what} is {NodeId.Length * 2} hexadecimal characters, and {reason}");
    }

    /// <summary>Parses <c>host:port</c> or <c>[v6]:port</c>.</summary>
    /// <param name="text">The text.</param>
    /// <returns>The pair.</returns>
    /// <exception cref="ApiException"><see cref="ApiError.BadRequest"/>: the text is missing or not host:port with a port in 1..65535.</exception>
    public static HostPort ParseHostPort(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            throw new ApiException(ApiError.BadRequest, "an address HOST:PORT is required");
        }

        if (!HostPort.TryParse(text, out var value, out var error))
        {
            throw new ApiException(ApiError.BadRequest, $"'{Quote(text)}' {error}");
        }

        return value;
    }

    /// <summary>
    /// Returns an <see cref="ArgumentException"/>'s message without the " (Parameter 'name')" suffix the framework
    /// appends when <see cref="ArgumentException.ParamName"/> is set: a parameter name means nothing to a user.
    /// </summary>
    /// <param name="exception">The exception.</param>
    /// <returns>The message, suffix removed when present.</returns>
    public static string WithoutParameterName(ArgumentException exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        var message = exception.Message;
        if (exception.ParamName is { } name)
        {
            var suffix = $" (Parameter '{name}')";
            var at = message.LastIndexOf(suffix, StringComparison.Ordinal);
            if (at >= 0)
            {
                message = message.Remove(at, suffix.Length);
            }
        }

        return message.Trim();
    }

    /// <summary>Returns <paramref name="text"/> cut to at most 80 characters, for quoting in messages.</summary>
    /// <param name="text">Any text or null.</param>
    /// <returns>The text, shortened with "…" when longer than 80 characters; empty for null.</returns>
    public static string Quote(string? text) =>
        text is null ? string.Empty : text.Length <= MaxQuoted ? text : string.Concat(text.AsSpan(0, MaxQuoted), "…");
}
