import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseDelimited } from '../../../ui/src/artifacts/csv.js';
import { summarizeMLmodel, yamlScalar } from '../../../ui/src/artifacts/mlmodel.js';
import {
  IMAGE_PREVIEW_BYTES,
  isTextual,
  previewKind,
  TEXT_PREVIEW_BYTES,
} from '../../../ui/src/artifacts/preview-kind.js';

describe('preview kind', () => {
  it('picks the preview from the file name', () => {
    expect(previewKind('notes.txt')).toBe('text');
    expect(previewKind('train.log')).toBe('text');
    expect(previewKind('src/train.py')).toBe('text');
    expect(previewKind('README.md')).toBe('text');
    expect(previewKind('config.json')).toBe('json');
    expect(previewKind('conda.yaml')).toBe('yaml');
    expect(previewKind('params.YML')).toBe('yaml');
    expect(previewKind('model/MLmodel')).toBe('mlmodel');
    expect(previewKind('MLproject')).toBe('yaml');
    expect(previewKind('metrics.csv')).toBe('csv');
    expect(previewKind('table.tsv')).toBe('tsv');
    for (const name of ['a.png', 'b.JPG', 'c.jpeg', 'd.gif', 'e.webp'])
      expect(previewKind(name)).toBe('image');
    expect(previewKind('model/model.pkl')).toBe('binary');
    expect(previewKind('weights.safetensors')).toBe('binary');
    expect(previewKind('data')).toBe('unknown');
    expect(previewKind('archive.xyz')).toBe('unknown');
  });

  it('never treats HTML or SVG as an image or as plain text', () => {
    expect(previewKind('report.html')).toBe('html');
    expect(previewKind('report.HTM')).toBe('html');
    expect(previewKind('plots/graph.svg')).toBe('svg');
    expect(previewKind('plots/graph.SVG', 10)).toBe('svg');
  });

  it('uses the size: a JSON past the read limit is plain text, a huge image is a download', () => {
    expect(previewKind('big.json', TEXT_PREVIEW_BYTES)).toBe('json');
    expect(previewKind('big.json', TEXT_PREVIEW_BYTES + 1)).toBe('text');
    expect(previewKind('big.png', IMAGE_PREVIEW_BYTES)).toBe('image');
    expect(previewKind('big.png', IMAGE_PREVIEW_BYTES + 1)).toBe('binary');
  });

  it('does not take a dot at the start of a name as an extension', () => {
    expect(previewKind('.json')).toBe('unknown');
    expect(previewKind('dir.d/.env')).toBe('unknown');
  });

  it('reads bytes as text only for textual kinds', () => {
    expect(isTextual('csv')).toBe(true);
    expect(isTextual('html')).toBe(true);
    expect(isTextual('image')).toBe(false);
    expect(isTextual('binary')).toBe(false);
    expect(isTextual('unknown')).toBe(false);
  });
});

/** RFC 4180 serializer: quotes a field holding the delimiter, a quote or a line break (and a lone empty one). */
function serialize(rows: string[][], delimiter: string, newline: string): string {
  const field = (value: string, row: string[]) =>
    /["\r\n]/.test(value) || value.includes(delimiter) || (row.length === 1 && value === '')
      ? `"${value.replace(/"/g, '""')}"`
      : value;
  return rows.map((row) => row.map((value) => field(value, row)).join(delimiter)).join(newline);
}

describe('CSV parsing', () => {
  it('reads quoted fields with delimiters, doubled quotes and line breaks', () => {
    const text = 'name,note\n"a, b","say ""hi"""\n"multi\nline",x\r\nplain,\n';
    expect(parseDelimited(text, ',').rows).toEqual([
      ['name', 'note'],
      ['a, b', 'say "hi"'],
      ['multi\nline', 'x'],
      ['plain', ''],
    ]);
  });

  it('skips blank lines and reads tabs for TSV', () => {
    expect(parseDelimited('a\tb\n\n1\t2', '\t').rows).toEqual([
      ['a', 'b'],
      ['1', '2'],
    ]);
  });

  it('stops at maxRows and says the table is incomplete', () => {
    const parsed = parseDelimited('h\n1\n2\n3\n', ',', 2);
    expect(parsed.rows).toEqual([['h'], ['1']]);
    expect(parsed.complete).toBe(false);
    expect(parseDelimited('h\n1\n', ',', 2).complete).toBe(true);
  });

  it('drops the row a byte limit may have cut', () => {
    expect(parseDelimited('a,b\n1,2\n3,', ',', Number.POSITIVE_INFINITY, true).rows).toEqual([
      ['a', 'b'],
      ['1', '2'],
    ]);
    // A cut inside a quoted field drops that row too.
    expect(parseDelimited('a\n"long\ntext', ',', Number.POSITIVE_INFINITY, true).rows).toEqual([['a']]);
  });

  it('gives back what a serializer wrote (property)', () => {
    const fieldChars = fc.constantFrom('a', 'b', ' ', ',', '\t', '"', '\n', '\r', 'é', '1');
    const field = fc.array(fieldChars, { maxLength: 6 }).map((chars) => chars.join(''));
    fc.assert(
      fc.property(
        fc.array(fc.array(field, { minLength: 1, maxLength: 5 }), { maxLength: 8 }),
        fc.constantFrom(',', '\t'),
        fc.constantFrom('\n', '\r\n'),
        fc.boolean(),
        (rows, delimiter, newline, trailing) => {
          const text = serialize(rows, delimiter, newline) + (trailing && rows.length > 0 ? newline : '');
          expect(parseDelimited(text, delimiter).rows).toEqual(rows);
        },
      ),
    );
  });

  it('never returns more than maxRows rows (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), fc.integer({ min: 0, max: 5 }), (text, max) => {
        expect(parseDelimited(text, ',', max).rows.length).toBeLessThanOrEqual(max);
      }),
    );
  });
});

describe('MLmodel summary', () => {
  it('lists flavors and the signature columns', () => {
    const text = [
      'artifact_path: model',
      'flavors:',
      '  python_function:',
      '    loader_module: mlflow.sklearn',
      '  sklearn:',
      '    sklearn_version: 1.5.0',
      'model_uuid: abc',
      'signature:',
      `  inputs: '[{"type": "double", "name": "sepal length", "required": true}, {"type": "tensor", "tensor-spec": {}, "tensor_spec": {"dtype": "float32", "shape": [-1, 4]}}]'`,
      `  outputs: '[{"type": "long", "required": true}]'`,
      "utc_time_created: '2026-12-06 10:00:00.000000'",
    ].join('\n');
    expect(summarizeMLmodel(text)).toEqual({
      flavors: ['python_function', 'sklearn'],
      artifactPath: 'model',
      modelUuid: 'abc',
      utcTime: '2026-12-06 10:00:00.000000',
      inputs: ['sepal length: double', 'tensor float32 [-1, 4]'],
      outputs: ['long'],
    });
  });

  it('has no signature when the file has none, and survives junk', () => {
    expect(summarizeMLmodel('flavors:\n  sklearn:\n    x: 1\n')).toEqual({ flavors: ['sklearn'] });
    expect(summarizeMLmodel('signature:\n  inputs: not json\n').inputs).toBeUndefined();
    expect(summarizeMLmodel('')).toEqual({ flavors: [] });
  });

  it('reads YAML quoting', () => {
    expect(yamlScalar(" 'it''s' ")).toBe("it's");
    expect(yamlScalar('"a\\nb"')).toBe('a\nb');
    expect(yamlScalar('plain')).toBe('plain');
  });
});
