using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Overlay.Node.Api;

/// <summary>
/// Middleware that turns exceptions thrown by API handlers into <c>{ "error", "code" }</c> responses:
/// <see cref="ApiException"/> keeps its kind; <see cref="BadHttpRequestException"/> with status 413 (Kestrel stopped
/// reading a body past the route's limit, see <see cref="ApiGuard"/>) becomes <see cref="ApiError.TooLarge"/>; other
/// <see cref="BadHttpRequestException"/>s and <see cref="JsonException"/> (malformed request) become
/// <see cref="ApiError.BadRequest"/>; anything else is logged with
/// <see cref="NodeLog.ApiFailed"/> and becomes <see cref="ApiError.Internal"/>. When the response has already started
/// (a stream was being written), the failure is logged with <see cref="NodeLog.ApiAborted"/> and the connection is
/// aborted so the client sees a truncated body rather than a well-formed one. A request the client abandoned is
/// dropped silently. Thread-safe (stateless).
/// </summary>
internal static class ApiErrorHandler
{
    /// <summary>JSON options of every API body: web defaults (camelCase, case-insensitive reading).</summary>
    public static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web);

    /// <summary>Runs <paramref name="next"/> and maps its exceptions as described on the type.</summary>
    /// <param name="context">The request.</param>
    /// <param name="next">The rest of the pipeline.</param>
    /// <param name="logger">Receives failures.</param>
    /// <returns>A task that completes when the response is written.</returns>
    public static async Task InvokeAsync(HttpContext context, RequestDelegate next, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(next);
        ArgumentNullException.ThrowIfNull(logger);
        try
        {
            await next(context).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away; nobody is left to answer.
        }
        catch (ApiException ex)
        {
            await FailAsync(context, ex.Error, ex.Message, logger).ConfigureAwait(false);
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            await FailAsync(context, ApiError.TooLarge, $"the body is larger than {context.Request.Path} accepts: {ex.Message}", logger).ConfigureAwait(false);
        }
        catch (BadHttpRequestException ex)
        {
            await FailAsync(context, ApiError.BadRequest, ex.Message, logger).ConfigureAwait(false);
        }
        catch (JsonException ex)
        {
            await FailAsync(context, ApiError.BadRequest, $"malformed JSON body: {ex.Message}", logger).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            NodeLog.ApiFailed(logger, ex, context.Request.Method, context.Request.Path);
            await FailAsync(context, ApiError.Internal, $"internal error: {ex.GetType().Name}: {ex.Message}", logger).ConfigureAwait(false);
        }
    }

    /// <summary>Writes an error response, or aborts the connection if the response has already started.</summary>
    /// <param name="context">The request.</param>
    /// <param name="error">The error kind; gives the status and code.</param>
    /// <param name="message">One line for the user.</param>
    /// <param name="logger">Receives the abort, if any.</param>
    /// <returns>A task that completes when the body is written.</returns>
    public static async Task FailAsync(HttpContext context, ApiError error, string message, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(logger);
        if (context.Response.HasStarted)
        {
            NodeLog.ApiAborted(logger, context.Request.Method, context.Request.Path, message);
            context.Abort();
            return;
        }

        context.Response.Clear();
        context.Response.StatusCode = ApiErrors.Status(error);
        await context.Response.WriteAsJsonAsync(new ErrorResponse(OneLine(message), ApiErrors.Code(error)), JsonOptions, context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>Folds a message onto one line, so the CLI can print it as one line.</summary>
    private static string OneLine(string message) => message.ReplaceLineEndings(" ").Trim();
}
