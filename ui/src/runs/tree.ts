/**
 * Nested runs: a run whose `mlflow.parentRunId` names another loaded run is shown under it. Pure, so the
 * odd cases (a parent not loaded, a run naming itself, a cycle) are unit-tested without a browser.
 */

export interface FlatNode<T> {
  item: T;
  depth: number;
  /** How many loaded runs name this one as parent (0: no toggle). */
  childCount: number;
  expanded: boolean;
}

/**
 * Orders `items` as a depth-first tree and drops the descendants of collapsed nodes. Siblings keep the
 * order they came in (the server's sort), and a root keeps its place among the roots, so sorting
 * still reads top to bottom. A run whose parent is not loaded is a root. Runs in a parent cycle would
 * never be reached from a root: the first of them in the input order is made a root, which breaks the
 * cycle and keeps every run visible exactly once.
 */
export function flattenTree<T>(
  items: readonly T[],
  idOf: (item: T) => string,
  parentOf: (item: T) => string | undefined,
  collapsed: ReadonlySet<string>,
): FlatNode<T>[] {
  const byId = new Map<string, T>();
  for (const item of items) if (!byId.has(idOf(item))) byId.set(idOf(item), item);
  const children = new Map<string, T[]>();
  const isRoot = new Set<string>();
  for (const item of items) {
    const id = idOf(item);
    if (byId.get(id) !== item) continue; // a duplicate id: the first one stands for both
    const parent = parentOf(item);
    if (parent === undefined || parent === id || !byId.has(parent)) {
      isRoot.add(id);
      continue;
    }
    const list = children.get(parent);
    if (list) list.push(item);
    else children.set(parent, [item]);
  }

  // Which runs hang from a real root; the rest sit in (or below) a cycle.
  const reached = new Set<string>();
  const mark = (start: string) => {
    const stack = [start];
    while (stack.length > 0) {
      const id = stack.pop() as string;
      if (reached.has(id)) continue;
      reached.add(id);
      for (const child of children.get(id) ?? []) stack.push(idOf(child));
    }
  };
  for (const id of isRoot) mark(id);
  for (const item of items) {
    const id = idOf(item);
    if (!reached.has(id) && byId.get(id) === item) {
      isRoot.add(id);
      mark(id);
    }
  }

  const out: FlatNode<T>[] = [];
  const emitted = new Set<string>();
  const emit = (item: T, depth: number) => {
    // Iterative, so a chain of 10,000 nested runs cannot overflow the stack.
    const stack: { item: T; depth: number }[] = [{ item, depth }];
    while (stack.length > 0) {
      const next = stack.pop() as { item: T; depth: number };
      const id = idOf(next.item);
      if (emitted.has(id)) continue;
      emitted.add(id);
      const kids = (children.get(id) ?? []).filter((child) => !isRoot.has(idOf(child)));
      const expanded = !collapsed.has(id);
      out.push({ item: next.item, depth: next.depth, childCount: kids.length, expanded });
      if (expanded) {
        for (let index = kids.length - 1; index >= 0; index--) {
          stack.push({ item: kids[index] as T, depth: next.depth + 1 });
        }
      }
    }
  };
  for (const item of items) {
    const id = idOf(item);
    if (isRoot.has(id) && byId.get(id) === item) emit(item, 0);
  }
  return out;
}
