/**
 * CSV/TSV parsing for previews (RFC 4180: quoted fields may hold the delimiter, `""` and newlines).
 * Pure: unit-tested against a serializer with fast-check.
 */

export interface ParsedTable {
  rows: string[][];
  /** False when `maxRows` stopped the parse before the end of the text. */
  complete: boolean;
}

/**
 * Parses `text` into rows of fields, at most `maxRows` rows. Blank lines are skipped; `\r\n`, `\n` and `\r`
 * all end a row. When `dropPartialLastRow` is set (the text was cut by a byte limit) the last row, which
 * may be cut short, is dropped.
 */
export function parseDelimited(
  text: string,
  delimiter: string,
  maxRows = Number.POSITIVE_INFINITY,
  dropPartialLastRow = false,
): ParsedTable {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  // A row that has seen any character (or a quoted empty field) is not blank.
  let rowStarted = false;
  let i = 0;
  const length = text.length;
  const endRow = () => {
    if (rowStarted) {
      row.push(field);
      rows.push(row);
    }
    row = [];
    field = '';
    rowStarted = false;
  };
  while (i < length) {
    if (rows.length >= maxRows) return { rows, complete: false };
    const char = text[i] as string;
    if (char === '"' && field === '') {
      // A quoted field: read to the closing quote, `""` being one quote.
      rowStarted = true;
      i += 1;
      let value = '';
      for (;;) {
        if (i >= length) {
          field = value;
          break;
        }
        const c = text[i] as string;
        if (c === '"') {
          if (text[i + 1] === '"') {
            value += '"';
            i += 2;
            continue;
          }
          i += 1;
          field = value;
          break;
        }
        value += c;
        i += 1;
      }
      // Characters after the closing quote (malformed input) are kept, as spreadsheet programs do.
      while (i < length && text[i] !== delimiter && text[i] !== '\n' && text[i] !== '\r') {
        field += text[i];
        i += 1;
      }
      continue;
    }
    if (char === delimiter) {
      rowStarted = true;
      row.push(field);
      field = '';
      i += 1;
      continue;
    }
    if (char === '\n' || char === '\r') {
      endRow();
      i += char === '\r' && text[i + 1] === '\n' ? 2 : 1;
      continue;
    }
    rowStarted = true;
    field += char;
    i += 1;
  }
  const endedWithNewline = length > 0 && (text[length - 1] === '\n' || text[length - 1] === '\r');
  if (rowStarted && rows.length < maxRows) {
    if (dropPartialLastRow && !endedWithNewline) {
      return { rows, complete: false };
    }
    endRow();
  }
  return { rows, complete: !dropPartialLastRow };
}
