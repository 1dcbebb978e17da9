namespace Overlay.Node.Api;

/// <summary>The error codes of the local API: one JSON <c>code</c>, HTTP status and CLI exit code each.</summary>
internal enum ApiError
{
    /// <summary>Malformed input (bad CID, key, body). HTTP 400; exit 2.</summary>
    BadRequest,

    /// <summary>A node or record was not found. HTTP 404; exit 3.</summary>
    NotFound,

    /// <summary>No provider of the content was found. HTTP 404; exit 3.</summary>
    NoProviders,

    /// <summary>Providers were found but the content could not be fetched. HTTP 502; exit 1.</summary>
    FetchFailed,

    /// <summary>The content is malformed (not a UnixFS file). HTTP 422; exit 1.</summary>
    BadContent,

    /// <summary>An unexpected failure in the daemon. HTTP 500; exit 1.</summary>
    Internal,

    /// <summary>
    /// The request lacks the API token (<c>Authorization: Bearer</c>, from <c>&lt;data-dir&gt;/api.token</c>) or carries
    /// a wrong one. HTTP 401; exit 5.
    /// </summary>
    Unauthorized,

    /// <summary>
    /// The request came through a name that is not the API's own (DNS rebinding) or from a web page whose origin is
    /// not in <c>Api:AllowedOrigins</c>. HTTP 403; exit 5.
    /// </summary>
    Forbidden,

    /// <summary>The body's Content-Type is not the one the route takes (a form or text/plain post). HTTP 415; exit 2.</summary>
    UnsupportedMediaType,

    /// <summary>The body is larger than the route accepts. HTTP 413; exit 2.</summary>
    TooLarge,

    /// <summary>Every node that answered refused the write (stale sequence, bad token, full, ...). HTTP 409; exit 5.</summary>
    Refused,

    /// <summary>No node answered a write or request in time (none accepted, none refused). HTTP 504; exit 1.</summary>
    NoAnswer,

    /// <summary>A block in the daemon's store failed verification on read (it is quarantined). HTTP 500; exit 1.</summary>
    CorruptBlock,

    /// <summary>No session could be established with a peer (every path failed, or it did not prove the expected node
    /// ID). HTTP 502; exit 1.</summary>
    ConnectFailed,
}

/// <summary>The mappings of <see cref="ApiError"/>; the single table shared by the API and the CLI.</summary>
internal static class ApiErrors
{
    /// <summary>Returns the JSON <c>code</c> string.</summary>
    /// <param name="error">The error.</param>
    public static string Code(ApiError error) => error switch
    {
        ApiError.BadRequest => "bad_request",
        ApiError.NotFound => "not_found",
        ApiError.NoProviders => "no_providers",
        ApiError.FetchFailed => "fetch_failed",
        ApiError.BadContent => "bad_content",
        ApiError.Unauthorized => "unauthorized",
        ApiError.Forbidden => "forbidden",
        ApiError.UnsupportedMediaType => "unsupported_media_type",
        ApiError.TooLarge => "too_large",
        ApiError.Refused => "refused",
        ApiError.NoAnswer => "no_answer",
        ApiError.CorruptBlock => "corrupt_block",
        ApiError.ConnectFailed => "connect_failed",
        _ => "internal",
    };

    /// <summary>Returns the HTTP status code.</summary>
    /// <param name="error">The error.</param>
    public static int Status(ApiError error) => error switch
    {
        ApiError.BadRequest => 400,
        ApiError.NotFound or ApiError.NoProviders => 404,
        ApiError.FetchFailed or ApiError.ConnectFailed => 502,
        ApiError.BadContent => 422,
        ApiError.Unauthorized => 401,
        ApiError.Forbidden => 403,
        ApiError.UnsupportedMediaType => 415,
        ApiError.TooLarge => 413,
        ApiError.Refused => 409,
        ApiError.NoAnswer => 504,
        _ => 500,
    };

    /// <summary>Returns the CLI exit code for a JSON <c>code</c> (unknown codes: 1).</summary>
    /// <param name="code">The code string.</param>
    public static int ExitCode(string? code) => code switch
    {
        "bad_request" or "unsupported_media_type" or "too_large" => ExitCodes.Usage,
        "unauthorized" or "forbidden" => ExitCodes.Refused,
        "not_found" or "no_providers" => ExitCodes.NotFound,
        "refused" => ExitCodes.Refused,
        _ => ExitCodes.Failure,
    };
}

/// <summary>Thrown inside the daemon to answer a request with a JSON error <c>{ error, code }</c>.</summary>
internal sealed class ApiException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="error">The error kind.</param>
    /// <param name="message">One line for the user.</param>
    /// <param name="innerException">The cause, if any.</param>
    public ApiException(ApiError error, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        Error = error;
    }

    /// <summary>Gets the error kind.</summary>
    public ApiError Error { get; }
}
