namespace Overlay.Node.Cli;

/// <summary>
/// Human output before it is laid out: named columns and rows of plain-text cells (never markup), written by
/// <see cref="Render.Write"/> as a Spectre table on a terminal or as tab-separated lines through a pipe.
/// </summary>
/// <param name="Columns">Column headers, one per cell of each row.</param>
/// <param name="Rows">The rows; a null cell prints as "-".</param>
/// <param name="IsFields">Whether this is a field/value list (no header on a terminal; "Field&lt;TAB&gt;value" lines through a pipe).</param>
/// <param name="Caption">A summary shown under the table on a terminal only, or null.</param>
internal sealed record TextTable(IReadOnlyList<string> Columns, IReadOnlyList<string?[]> Rows, bool IsFields, string? Caption = null)
{
    /// <summary>Returns a copy with the caption set.</summary>
    /// <param name="caption">The caption, plain text.</param>
    /// <returns>The new table.</returns>
    public TextTable WithCaption(string caption) => this with { Caption = caption };
}
