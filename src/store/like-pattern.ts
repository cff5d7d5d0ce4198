/**
 * A LIKE pattern that matches any text containing `text`: its `%`, `_` and `\` are escaped
 * (with `\`, so statements say `ESCAPE '\'`), so a search for "50%" finds "50%", not "50" and more.
 */
export function containsPattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}
