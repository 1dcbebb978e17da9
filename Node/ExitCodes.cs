namespace Overlay.Node;

/// <summary>The documented process exit codes of <c>overlay</c> (README, "Exit codes").</summary>
internal static class ExitCodes
{
    /// <summary>Success.</summary>
    public const int Ok = 0;

    /// <summary>Runtime failure: fetch failed, ping unanswered, port in use, I/O error.</summary>
    public const int Failure = 1;

    /// <summary>Usage or configuration error: bad arguments, bad node.config.json, invalid input.</summary>
    public const int Usage = 2;

    /// <summary>Not found: no providers for content, no record for a key, unknown node.</summary>
    public const int NotFound = 3;

    /// <summary>The daemon's API cannot be reached.</summary>
    public const int DaemonUnreachable = 4;

    /// <summary>
    /// Refused: the daemon refused the request (the API token is missing or wrong: the CLI reads it from
    /// <c>&lt;data-dir&gt;/api.token</c>, so a wrong <c>--data-dir</c> is the usual cause; or the request was forbidden),
    /// or every node that answered refused a write (e.g. <c>dht put --mutable</c> with a stale sequence). Apart from 1
    /// because the cure differs: a failure may pass on retry, a refusal needs different input.
    /// </summary>
    public const int Refused = 5;
}
