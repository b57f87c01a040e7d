/**
 * SQL LIKE / ILIKE as MLflow's filters mean them: `%` is any run of characters (the empty one too),
 * `_` exactly one character, anything else itself; the whole string must match; a character is a code
 * point, and `_` matches a line break like any other. ILIKE compares two characters as a
 * case-insensitive Unicode regular expression does (simple case folding: `K` matches the Kelvin sign,
 * `ß` matches `ẞ`), which is exactly what the RegExp this matcher replaces did.
 *
 * Why no RegExp: `%` compiled to `.*` backtracks, and `name LIKE '%%…%x'` (40 `%`) over a long name
 * took seconds. Here the pattern is cut at each `%` into segments that each cover a fixed number of
 * characters. The first segment must match at the start, the last at the end, and each one between is
 * placed at its leftmost fit after the previous one. Leftmost placement never loses a match: a later
 * fit only leaves less room to the segments after it. So a segment is tried at most once per start
 * position, and a test costs at most `bound(text length)` character comparisons, (n + 2) × m for m
 * pattern characters other than `%`: no backtracking, whatever the pattern.
 */

/** A pattern character: a code point, or ANY for `_`. */
const ANY = -1;

export interface LikeMatcher {
  test(candidate: string): boolean;
  /** `test`, also telling how many character comparisons it made (the work bound is checked in tests). */
  measure(candidate: string): { matched: boolean; comparisons: number };
  /** At most this many character comparisons for a candidate of `length` code points. */
  bound(length: number): number;
}

const SYNTAX = /[.*+?^${}()|[\]\\/]/g;

/**
 * Character equality under ILIKE. JavaScript exposes no simple case folding, but a one-character
 * case-insensitive Unicode RegExp applies exactly it; a single-atom RegExp cannot backtrack. Answers
 * are cached per (pattern character, candidate character) pair, so each pair costs one RegExp test.
 */
function foldedEquality(): (patternChar: number, candidateChar: number) => boolean {
  const regexps = new Map<number, RegExp>();
  const answers = new Map<number, boolean>();
  return (patternChar, candidateChar) => {
    if (patternChar === candidateChar) return true;
    // Code points are below 0x110000, so this pairing is unique and stays an exact integer.
    const pair = patternChar * 0x110000 + candidateChar;
    let answer = answers.get(pair);
    if (answer === undefined) {
      let regexp = regexps.get(patternChar);
      if (regexp === undefined) {
        regexp = new RegExp(`^${String.fromCodePoint(patternChar).replace(SYNTAX, '\\$&')}$`, 'iu');
        regexps.set(patternChar, regexp);
      }
      answer = regexp.test(String.fromCodePoint(candidateChar));
      answers.set(pair, answer);
    }
    return answer;
  };
}

/** Code points, a lone surrogate counting as one character (as a `u` RegExp reads a string). */
function codePoints(text: string): number[] {
  return Array.from(text, (char) => char.codePointAt(0) as number);
}

export function compileLike(pattern: string, caseInsensitive: boolean): LikeMatcher {
  const segments: number[][] = [[]];
  for (const char of pattern) {
    if (char === '%') segments.push([]);
    else (segments.at(-1) as number[]).push(char === '_' ? ANY : (char.codePointAt(0) as number));
  }
  const characters = segments.reduce((count, segment) => count + segment.length, 0);
  const same = caseInsensitive ? foldedEquality() : (a: number, b: number) => a === b;

  const measure = (candidate: string) => {
    const text = codePoints(candidate);
    let comparisons = 0;
    const matchesAt = (segment: number[], start: number): boolean => {
      for (const [offset, char] of segment.entries()) {
        comparisons++;
        if (char !== ANY && !same(char, text[start + offset] as number)) return false;
      }
      return true;
    };
    const result = (matched: boolean) => ({ matched, comparisons });

    const first = segments[0] as number[];
    if (segments.length === 1) return result(text.length === first.length && matchesAt(first, 0));
    const last = segments.at(-1) as number[];
    if (first.length + last.length > text.length) return result(false);
    if (!matchesAt(first, 0) || !matchesAt(last, text.length - last.length)) return result(false);
    let position = first.length;
    const limit = text.length - last.length;
    for (const segment of segments.slice(1, -1)) {
      let start = position;
      while (start + segment.length <= limit && !matchesAt(segment, start)) start++;
      if (start + segment.length > limit) return result(false);
      position = start + segment.length;
    }
    return result(true);
  };

  return {
    test: (candidate) => measure(candidate).matched,
    measure,
    bound: (length) => (length + 2) * characters,
  };
}
