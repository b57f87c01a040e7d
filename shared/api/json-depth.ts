/**
 * How deeply a JSON text nests, found by one linear scan that counts brackets outside strings. It runs
 * before JSON.parse: a body nested thousands deep parses, but every recursive walk after it (schema
 * validation, JSON.stringify of a value for an error message) then overflows the stack, and a 500 has
 * the stock client retry for minutes (issue 11, item 7).
 */

/**
 * Cairn's deepest message, log-inputs, nests 5 levels (`{datasets: [{tags: [{…}]}]}`); MLflow's trace
 * messages nest a few more. 64 leaves room for any of them and is far from a stack's limit.
 */
export const MAX_JSON_DEPTH = 64;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;

/**
 * The nesting depth of `text` (objects and arrays; a scalar is 0), or the first depth above `stopAbove`
 * as soon as the scan reaches it. For valid JSON this is exactly the depth of the parsed value; for
 * malformed text it is some number that JSON.parse then refuses anyway.
 */
export function jsonNestingDepth(text: string, stopAbove = Number.POSITIVE_INFINITY): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (inString) {
      if (code === BACKSLASH) i++;
      else if (code === QUOTE) inString = false;
    } else if (code === QUOTE) {
      inString = true;
    } else if (code === OPEN_BRACE || code === OPEN_BRACKET) {
      depth++;
      if (depth > deepest) {
        deepest = depth;
        if (deepest > stopAbove) return deepest;
      }
    } else if (code === CLOSE_BRACE || code === CLOSE_BRACKET) {
      depth--;
    }
  }
  return deepest;
}
