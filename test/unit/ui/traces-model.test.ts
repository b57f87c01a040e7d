import { describe, expect, it } from 'vitest';
import {
  anyValue,
  assessmentValue,
  barOf,
  buildSpanTree,
  displayValue,
  durationMs,
  exceptionsOf,
  formatMs,
  idToHex,
  nanosToMs,
  type Span,
  spanType,
  treeKey,
  unquote,
  visibleRows,
} from '../../../ui/src/traces/model.js';

const b64 = (hex: string) => Buffer.from(hex, 'hex').toString('base64');
const ms = (value: number) => String(BigInt(value) * 1_000_000n);

function span(id: string, parent: string | undefined, start: number, end: number, name = id): Span {
  return {
    span_id: b64(id.padStart(16, '0')),
    ...(parent ? { parent_span_id: b64(parent.padStart(16, '0')) } : {}),
    name,
    start_time_unix_nano: ms(start),
    end_time_unix_nano: ms(end),
  };
}

describe('trace values', () => {
  it('reads protobuf durations, int64 nanoseconds and base64 ids', () => {
    expect(durationMs('0.026s')).toBeCloseTo(26);
    expect(durationMs('12s')).toBe(12_000);
    expect(durationMs(undefined)).toBeUndefined();
    expect(durationMs('soon')).toBeUndefined();
    // Past 2^53 nanoseconds a double loses the microseconds; the BigInt division keeps them.
    expect(nanosToMs('1765000000123456789')).toBe(1765000000123.456);
    expect(idToHex(b64('00112233445566ff'))).toBe('00112233445566ff');
    expect(idToHex('00112233445566ff')).toBe('00112233445566ff');
  });

  it('turns OTel values into JSON and unquotes MLflow JSON strings', () => {
    expect(
      anyValue({
        kvlist_value: {
          values: [
            { key: 'n', value: { int_value: '3' } },
            {
              key: 'list',
              value: { array_value: { values: [{ bool_value: true }, { double_value: 1.5 }] } },
            },
          ],
        },
      }),
    ).toEqual({ n: 3, list: [true, 1.5] });
    expect(unquote('"LLM"')).toBe('LLM');
    expect(unquote('{"a": 1}')).toBe('{"a": 1}');
    expect(
      spanType({
        ...span('1', undefined, 0, 1),
        attributes: [{ key: 'mlflow.spanType', value: { string_value: '"CHAIN"' } }],
      }),
    ).toBe('CHAIN');
  });

  it('formats sub-millisecond to minute durations', () => {
    expect(formatMs(0.4213)).toBe('0.421ms');
    expect(formatMs(26)).toBe('26ms');
    expect(formatMs(1534)).toBe('1.53s');
    expect(formatMs(125_000)).toBe('2m 05s');
  });

  it('finds exception events and assessment values', () => {
    const failed: Span = {
      ...span('1', undefined, 0, 1),
      status: { code: 'STATUS_CODE_ERROR', message: 'ValueError: bad' },
      events: [
        {
          name: 'exception',
          attributes: [
            { key: 'exception.type', value: { string_value: 'ValueError' } },
            { key: 'exception.message', value: { string_value: 'bad' } },
          ],
        },
        { name: 'retry' },
      ],
    };
    expect(exceptionsOf(failed)).toEqual([{ type: 'ValueError', message: 'bad' }]);
    expect(assessmentValue({ assessment_name: 'ok', feedback: { value: true } })).toBe('true');
    expect(assessmentValue({ assessment_name: 'e', expectation: { value: { a: 1 } } })).toBe('{"a":1}');
    expect(
      assessmentValue({ assessment_name: 'e', expectation: { serialized_value: { value: '[1, 2]' } } }),
    ).toBe('[1, 2]');
  });
});

describe('the span tree', () => {
  const spans = [
    span('c', 'a', 30, 40),
    span('a', undefined, 0, 100),
    span('b', 'a', 10, 20),
    span('d', 'b', 12, 14),
    // Its parent was never exported: shown as a root, not lost.
    span('e', 'ff', 50, 60),
  ];
  const tree = buildSpanTree(spans);
  const id = (name: string) => name.padStart(16, '0');

  it('links children to parents in start order, keeps orphans as roots', () => {
    expect(tree.roots.map((node) => node.span.name)).toEqual(['a', 'e']);
    expect(tree.byId.get(id('a'))?.children.map((node) => node.span.name)).toEqual(['b', 'c']);
    expect(tree.byId.get(id('d'))?.depth).toBe(2);
    expect(visibleRows(tree, new Set()).map((node) => node.span.name)).toEqual(['a', 'b', 'd', 'c', 'e']);
    expect(visibleRows(tree, new Set([id('b')])).map((node) => node.span.name)).toEqual(['a', 'b', 'c', 'e']);
  });

  it('places each bar relative to the whole trace', () => {
    expect(barOf(tree.byId.get(id('a'))!, tree)).toEqual({ left: 0, width: 100 });
    expect(barOf(tree.byId.get(id('b'))!, tree)).toEqual({ left: 10, width: 10 });
    const single = buildSpanTree([span('1', undefined, 5, 5)]);
    expect(barOf(single.roots[0]!, single)).toEqual({ left: 0, width: 100 });
  });

  it('moves through the tree with the arrow keys as an ARIA tree does', () => {
    const none = new Set<string>();
    const rows = visibleRows(tree, none);
    expect(treeKey(rows, id('a'), 'ArrowDown', none)).toEqual({ focus: id('b') });
    expect(treeKey(rows, id('a'), 'ArrowRight', none)).toEqual({ focus: id('b') });
    expect(treeKey(rows, id('a'), 'ArrowLeft', none)).toEqual({ toggle: id('a') });
    expect(treeKey(rows, id('d'), 'ArrowLeft', none)).toEqual({ focus: id('b') });
    expect(treeKey(rows, id('d'), 'ArrowRight', none)).toEqual({});
    expect(treeKey(rows, id('e'), 'ArrowDown', none)).toEqual({ focus: id('e') });
    expect(treeKey(rows, id('c'), 'Home', none)).toEqual({ focus: id('a') });
    expect(treeKey(rows, id('a'), 'End', none)).toEqual({ focus: id('e') });
    const closed = new Set([id('b')]);
    expect(treeKey(visibleRows(tree, closed), id('b'), 'ArrowRight', closed)).toEqual({ toggle: id('b') });
  });
});

describe('large values', () => {
  it('pretty-prints JSON and cuts what is shown, however large the value', () => {
    expect(displayValue('{"a":[1,2]}').text).toBe('{\n  "a": [\n    1,\n    2\n  ]\n}');
    expect(displayValue('not json').text).toBe('not json');
    const big = JSON.stringify({ prompt: 'x'.repeat(2 * 1024 * 1024) });
    const shown = displayValue(big, 1000);
    expect(shown.truncated).toBe(true);
    expect(shown.text.length).toBe(1000);
    expect(shown.total).toBeGreaterThan(2 * 1024 * 1024);
    expect(displayValue(big, Number.POSITIVE_INFINITY).truncated).toBe(false);
  });
});
