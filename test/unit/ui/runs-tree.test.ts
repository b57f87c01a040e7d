import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { flattenTree } from '../../../ui/src/runs/tree.js';

interface Item {
  id: string;
  parent?: string;
}
const flat = (items: Item[], collapsed: string[] = []) =>
  flattenTree(
    items,
    (item) => item.id,
    (item) => item.parent,
    new Set(collapsed),
  ).map(
    (node) => `${'  '.repeat(node.depth)}${node.item.id}${node.childCount ? `(${node.childCount})` : ''}`,
  );

describe('nested runs tree', () => {
  it('puts children under their parent in the order they came, roots keeping their place', () => {
    const items: Item[] = [
      { id: 'c1', parent: 'p' },
      { id: 'x' },
      { id: 'p' },
      { id: 'c2', parent: 'p' },
      { id: 'g', parent: 'c2' },
    ];
    expect(flat(items)).toEqual(['x', 'p(2)', '  c1', '  c2(1)', '    g']);
  });

  it('shows a run whose parent is not loaded as a root', () => {
    expect(flat([{ id: 'a', parent: 'missing' }, { id: 'b' }])).toEqual(['a', 'b']);
  });

  it('hides the descendants of a collapsed run but still counts its children', () => {
    const items: Item[] = [{ id: 'p' }, { id: 'c', parent: 'p' }, { id: 'g', parent: 'c' }];
    expect(flat(items, ['p'])).toEqual(['p(1)']);
    expect(flat(items, ['c'])).toEqual(['p(1)', '  c(1)']);
  });

  it('breaks a parent cycle at its first run, and a run naming itself is a root', () => {
    expect(
      flat([
        { id: 'a', parent: 'b' },
        { id: 'b', parent: 'a' },
        { id: 's', parent: 's' },
      ]),
    ).toEqual(['a(1)', '  b', 's']);
    expect(
      flat([{ id: 'z' }, { id: 'b', parent: 'c' }, { id: 'c', parent: 'b' }, { id: 'd', parent: 'c' }]),
    ).toEqual(['z', 'b(1)', '  c(1)', '    d']);
  });

  it('survives a 10,000-deep chain without recursion', () => {
    const items: Item[] = [{ id: '0' }];
    for (let i = 1; i < 10_000; i++) items.push({ id: String(i), parent: String(i - 1) });
    const nodes = flattenTree(
      items,
      (item) => item.id,
      (item) => item.parent,
      new Set(),
    );
    expect(nodes).toHaveLength(10_000);
    expect(nodes[9_999]?.depth).toBe(9_999);
  });

  it('shows every run exactly once whatever the parent links (nothing collapsed)', () => {
    fc.assert(
      fc.property(fc.array(fc.option(fc.nat(30), { nil: undefined }), { maxLength: 30 }), (parents) => {
        const items: Item[] = parents.map((parent, index) => ({
          id: String(index),
          ...(parent === undefined ? {} : { parent: String(parent) }),
        }));
        const nodes = flattenTree(
          items,
          (item) => item.id,
          (item) => item.parent,
          new Set(),
        );
        expect(nodes.map((node) => node.item.id).sort()).toEqual(items.map((item) => item.id).sort());
        // A child row directly follows its parent's subtree start: its depth is at most one more.
        for (let i = 1; i < nodes.length; i++) {
          expect((nodes[i]?.depth ?? 0) <= (nodes[i - 1]?.depth ?? 0) + 1).toBe(true);
        }
      }),
    );
  });
});
