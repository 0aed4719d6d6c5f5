/**
 * Escaping for the markup renderers of reports/render/ (private to the folder).
 *
 * @module
 */

/** `s` with `& < > " '` replaced by entities: safe in HTML/XML text and quoted attributes. */
export function escapeMarkup(s: string): string {
  return s.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(
    ">",
    "&gt;",
  ).replaceAll('"', "&quot;").replaceAll("'", "&#39;");
}

/** `s` safe inside a Markdown table cell: pipes escaped, newlines as spaces. */
export function escapeCell(s: string): string {
  return s.replaceAll("|", "\\|").replaceAll(/\r?\n/g, " ");
}
