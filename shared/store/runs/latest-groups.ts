/**
 * Wide runs' latest values (issue 13 item 5). A run's latest point per key lives in its LATEST item's `m`
 * while that stays small: LATEST is rewritten (and re-indexed, gsi2 projects ALL) on every metric write,
 * so past SPILL_BYTES each write would cost the size of every key the run has. Beyond, the run *spills*:
 * its latest points move to group items in its partition (`keys.runLatestGroup`, a key's group = a hash of
 * it mod the group count), which carry no index keys, and LATEST keeps an empty `m` and the count in `lg`.
 * A write then rewrites LATEST (small) and only the groups its keys fall in.
 *
 * - Each group is read-modify-written under a version of its own (a conditional put). Merging latest
 *   points is MLflow's "greatest (step, timestamp, value)" per key: commutative, associative and
 *   idempotent, so a conflict only re-reads that group, a replayed write changes nothing, and a stale
 *   group (a kept copy, one from a cut-short regrouping) merged with the right one gives the right one.
 * - Groups are written after chunks and before LATEST's conditional put, as chunks are: the write is
 *   acknowledged only once LATEST's put succeeds under the version whose `lg` it merged into. A failed put
 *   redoes the write from a fresh LATEST, whose `lg` it then follows.
 * - When a group outgrows GROUP_MAX_BYTES the run regroups: every group of the old count is read (never
 *   from kept copies: nothing checks a regrouping's sources, so a stale one would drop points), merged
 *   into at least twice as many new items (new keys: the count is in the sort key) and LATEST names the
 *   new count. Old items are left in place, so a reader that read LATEST just before still finds them;
 *   they are never written again. Doubling keeps the groups of a run near GROUP_TARGET_BYTES whatever its
 *   width, so a write's cost does not grow with the keys the run already has (amortised: a regrouping
 *   rewrites every key once per doubling).
 */
import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { mapWithLimit } from '../../concurrency.js';
import { comparePoints } from '../../domain/runs/metric-codec.js';
import { parseMetricValue } from '../../domain/runs/metrics.js';
import { InvalidParameterValueError } from '../../errors.js';
import { batchGetAll } from '../doc-commands.js';
import {
  approximateItemBytes,
  ConcurrentWritesError,
  contendedWriteBackoff,
  isConditionFailure,
  storedKey,
} from '../items.js';
import { keys } from '../keys.js';
import {
  type LatestGroupItem,
  type LatestItem,
  latestGroupKeyProjection,
  type StoredLatest,
} from './entity.js';

/**
 * LATEST's `m` beyond this spills. ~8 KB is ~160 keys of typical names: a run of a few dozen keys never
 * spills and costs what it did, while a write to a spilled run rewrites at most ~1 KB of LATEST (×2 with
 * its index copy) plus the groups it touches.
 */
export const SPILL_BYTES = 8 * 1024;
/** What a group should hold after a spill or a regrouping: under one 4 KB read unit, ~3 write units. */
export const GROUP_TARGET_BYTES = 3 * 1024;
/** A group growing past this regroups the run. */
export const GROUP_MAX_BYTES = 8 * 1024;
const MIN_GROUPS = 4;
/** At most this many groups; past it, groups grow until GROUP_LIMIT_BYTES. */
export const MAX_GROUPS = 256;
/**
 * A write that would grow a group of MAX_GROUPS past this is refused: a run keeps at most ~2.5 MB of
 * latest values (~50,000 keys of typical names), so that its get_run answer fits Lambda's 6 MB response.
 */
export const GROUP_LIMIT_BYTES = 10 * 1024;
/** The limit a refusal names: every group at GROUP_LIMIT_BYTES. */
export const MAX_LATEST_BYTES = MAX_GROUPS * GROUP_LIMIT_BYTES;
/** Conditional group puts in flight for one write. */
const GROUP_PUTS_IN_FLIGHT = 16;
const MAX_ATTEMPTS = 30;

type LatestMap = Record<string, StoredLatest>;

/** A stored key's group among `groups`: FNV-1a over its UTF-16 code units, stable across processes. */
export function groupOf(storedKey: string, groups: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < storedKey.length; i++) {
    hash ^= storedKey.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % groups;
}

/** How many groups `bytes` of latest points go into: a power of two, at least `atLeast`, at most MAX_GROUPS. */
export function groupCount(bytes: number, atLeast = MIN_GROUPS): number {
  let groups = MIN_GROUPS;
  while (groups < MAX_GROUPS && (groups < atLeast || groups * GROUP_TARGET_BYTES < bytes)) groups *= 2;
  return groups;
}

/** The entries of `m` by group. Stored keys carry a prefix, so assignment is safe for any metric key. */
export function splitByGroup(m: Readonly<LatestMap>, groups: number): Map<number, LatestMap> {
  const split = new Map<number, LatestMap>();
  for (const [key, point] of Object.entries(m)) {
    const group = groupOf(key, groups);
    let entries = split.get(group);
    if (!entries) {
      entries = {};
      split.set(group, entries);
    }
    entries[key] = point;
  }
  return split;
}

const asPoint = ([step, timestamp, value]: StoredLatest) => ({
  step,
  timestamp,
  value: parseMetricValue(value),
});

/** MLflow's latest-value rule on stored points: the greatest (step, timestamp, value). */
function isLaterStored(candidate: StoredLatest, current: StoredLatest | undefined): boolean {
  return current === undefined || comparePoints(asPoint(candidate), asPoint(current)) > 0;
}

/** `base` with `changes` merged in by the latest-value rule (neither is changed); undefined when nothing changes. */
export function mergeLatest(base: Readonly<LatestMap>, changes: Readonly<LatestMap>): LatestMap | undefined {
  let merged: LatestMap | undefined;
  for (const [key, point] of Object.entries(changes)) {
    if (!isLaterStored(point, Object.hasOwn(base, key) ? base[key] : undefined)) continue;
    merged ??= { ...base };
    merged[key] = point;
  }
  return merged;
}

/** The latest map of LATEST as stored (`m`), with every group's entries merged in. */
function mergedWith(m: Readonly<LatestMap>, groups: readonly Pick<LatestGroupItem, 'm'>[]): LatestMap {
  let merged: LatestMap = { ...m };
  for (const group of groups) merged = mergeLatest(merged, group.m) ?? merged;
  return merged;
}

/**
 * LATEST items (or listing projections of them) with their latest points complete: spilled ones (`lg`)
 * get their groups' entries in `m`, read with one BatchGet per 100 groups; narrow ones are returned as
 * they are, so that listings of narrow runs make no call here. Every reader of latest metrics goes
 * through this.
 */
export async function withLatestGroups<Item extends Pick<LatestItem, 'run_id' | 'm' | 'lg'>>(
  doc: DynamoDBDocumentClient,
  tableName: string,
  items: readonly Item[],
  options: { consistent?: boolean } = {},
): Promise<Item[]> {
  const spilled = items.filter((item) => item.lg);
  if (spilled.length === 0) return [...items];
  const wanted = spilled.flatMap((item) =>
    Array.from({ length: item.lg ?? 0 }, (_, group) => keys.runLatestGroup(item.run_id, item.lg ?? 0, group)),
  );
  const groups = await batchGetAll<Pick<LatestGroupItem, 'pk' | 'sk' | 'm'>>(doc, tableName, wanted, {
    ...(options.consistent ? { consistent: true } : {}),
    projection: 'pk, sk, m',
  });
  const byRun = new Map<string, Pick<LatestGroupItem, 'm'>[]>();
  for (const group of groups) {
    const list = byRun.get(group.pk);
    if (list) list.push(group);
    else byRun.set(group.pk, [group]);
  }
  return items.map((item) =>
    item.lg ? { ...item, m: mergedWith(item.m ?? {}, byRun.get(keys.run(item.run_id).pk) ?? []) } : item,
  );
}

/** One key's latest point in a spilled run (LATEST's `lg` groups), strongly consistent: one GetItem. */
export async function readGroupedLatest(
  doc: DynamoDBDocumentClient,
  tableName: string,
  latest: Pick<LatestItem, 'run_id' | 'lg'>,
  key: string,
): Promise<StoredLatest | undefined> {
  if (!latest.lg) return undefined;
  const stored = storedKey(key);
  const { Item } = await doc.send(
    new GetCommand({
      TableName: tableName,
      Key: keys.runLatestGroup(latest.run_id, latest.lg, groupOf(stored, latest.lg)),
      ConsistentRead: true,
      ...latestGroupKeyProjection(key),
    }),
  );
  return (Item as Partial<LatestGroupItem> | undefined)?.m?.[stored];
}

/**
 * The latest point of each of `storedKeys` after a committed write, from the groups commitLatest returned
 * (a spilled run's LATEST has none in `m`): for writers that follow a run's latest values elsewhere. A
 * key's point there may be another writer's, later than any this write brought.
 */
export function latestAfterCommit(
  groups: readonly Pick<LatestGroupItem, 'm'>[],
  storedKeys: Iterable<string>,
): LatestMap {
  const merged = mergedWith({}, groups);
  const latest: LatestMap = {};
  for (const key of storedKeys) if (Object.hasOwn(merged, key)) latest[key] = merged[key] as StoredLatest;
  return latest;
}

/** Group items as this process last read or wrote them, by sort key (kept with a run's LATEST). */
export type KeptGroups = ReadonlyMap<string, LatestGroupItem>;

/** What a metric write stores of latest points, decided before anything is written (prepareLatest). */
export interface LatestWrite {
  /** LATEST's `m` and `lg` after the write. */
  m: LatestMap;
  lg?: number;
  /** Group merges to commit before LATEST's put, with each group as read (undefined: it does not exist). */
  merges: { key: { pk: string; sk: string }; current: LatestGroupItem | undefined; changes: LatestMap }[];
}

/**
 * Decides where a write's latest points go, reading the groups it touches (from `kept` when this process
 * holds them). `changes` are the latest point per stored key the write brings. A narrow run that stays
 * narrow makes no call and gets LATEST's new `m`; one whose `m` would pass SPILL_BYTES spills; a spilled
 * run merges into its groups, and regroups when one would pass GROUP_MAX_BYTES. Throws (nothing stored)
 * when the run would keep more than MAX_LATEST_BYTES of latest values.
 */
export async function prepareLatest(
  doc: DynamoDBDocumentClient,
  tableName: string,
  latest: Pick<LatestItem, 'run_id' | 'm' | 'lg'>,
  changes: Readonly<LatestMap>,
  kept: KeptGroups = new Map(),
): Promise<LatestWrite> {
  const runId = latest.run_id;
  if (!latest.lg) {
    const m = mergeLatest(latest.m, changes) ?? latest.m;
    const bytes = approximateItemBytes(m);
    if (bytes <= SPILL_BYTES) return { m, merges: [] };
    return regroup(doc, tableName, runId, m, groupCount(bytes));
  }
  const groups = latest.lg;
  const touched = [...splitByGroup(changes, groups)];
  const read = await readGroups(
    doc,
    tableName,
    touched.map(([group]) => keys.runLatestGroup(runId, groups, group)),
    kept,
  );
  const merges: LatestWrite['merges'] = [];
  let overflow = false;
  for (const [group, entries] of touched) {
    const key = keys.runLatestGroup(runId, groups, group);
    const current = read.get(key.sk);
    const merged = mergeLatest(current?.m ?? {}, entries);
    if (!merged) continue;
    const bytes = approximateItemBytes(merged);
    if (groups >= MAX_GROUPS && bytes > GROUP_LIMIT_BYTES) throw tooWide(runId, bytes * groups);
    if (groups < MAX_GROUPS && bytes > GROUP_MAX_BYTES) overflow = true;
    merges.push({ key, current, changes: entries });
  }
  if (!overflow) return { m: latest.m, lg: groups, merges };
  // Regroup from every group of the current count, read strongly consistent: the touched ones as just
  // read, but not kept copies. A kept copy may lack a point another process merged in after this one put
  // that group (its LATEST put landing before this process's, whose retry then found nothing to merge), and
  // unlike a group merge, which a conditional put checks, a regrouping copies old groups unchecked: old
  // groups are never written again, and LATEST's version says nothing of what they held.
  const fresh = new Map([...read].filter(([sk, item]) => kept.get(sk) !== item));
  const all = await readGroups(
    doc,
    tableName,
    Array.from({ length: groups }, (_, group) => keys.runLatestGroup(runId, groups, group)),
    fresh,
  );
  const whole = mergedWith(latest.m, [...all.values()]);
  const m = mergeLatest(whole, changes) ?? whole;
  return regroup(doc, tableName, runId, m, groupCount(approximateItemBytes(m), groups * 2));
}

/** A write that puts all of `m` into `groups` new groups (a spill or a regrouping); LATEST's `m` empties. */
async function regroup(
  doc: DynamoDBDocumentClient,
  tableName: string,
  runId: string,
  m: LatestMap,
  atLeast: number,
): Promise<LatestWrite> {
  let groups = atLeast;
  let split = splitByGroup(m, groups);
  let largest = largestOf(split);
  // Keys that happen to hash together: more groups, until none is past GROUP_MAX_BYTES or the count is at its cap.
  while (largest > GROUP_MAX_BYTES && groups < MAX_GROUPS) {
    groups *= 2;
    split = splitByGroup(m, groups);
    largest = largestOf(split);
  }
  if (largest > GROUP_LIMIT_BYTES) throw tooWide(runId, largest * groups);
  // New groups may exist already, from a regrouping cut short or lost to a concurrent writer: merge into them.
  const wanted = [...split.keys()].map((group) => keys.runLatestGroup(runId, groups, group));
  const read = await readGroups(doc, tableName, wanted);
  return {
    m: {},
    lg: groups,
    merges: [...split].map(([group, changes]) => {
      const key = keys.runLatestGroup(runId, groups, group);
      return { key, current: read.get(key.sk), changes };
    }),
  };
}

const largestOf = (split: ReadonlyMap<number, LatestMap>) =>
  Math.max(0, ...[...split.values()].map((entries) => approximateItemBytes(entries)));

/** The refusal of a write that would take a run past MAX_LATEST_BYTES (`bytes`: an estimate beyond it). */
function tooWide(runId: string, bytes: number): InvalidParameterValueError {
  return new InvalidParameterValueError(
    `Run ${runId} logs too many distinct metric keys: their latest values would take about ${bytes} bytes, beyond the ${MAX_LATEST_BYTES}-byte limit of a run's latest metrics.`,
  );
}

/** Group items by sort key: `kept` ones as they are, the others read strongly consistent in one BatchGet. */
async function readGroups(
  doc: DynamoDBDocumentClient,
  tableName: string,
  wanted: readonly { pk: string; sk: string }[],
  kept: KeptGroups = new Map(),
): Promise<Map<string, LatestGroupItem>> {
  const found = new Map<string, LatestGroupItem>();
  const missing = wanted.filter((key) => {
    const item = kept.get(key.sk);
    if (item) found.set(key.sk, item);
    return !item;
  });
  if (missing.length > 0) {
    for (const item of await batchGetAll<LatestGroupItem>(doc, tableName, missing, { consistent: true })) {
      found.set(item.sk, item);
    }
  }
  return found;
}

/**
 * Merges a prepared write into its groups: one conditional put per changed group, in parallel; a put that
 * loses to another writer re-reads that group and merges again. Returns the groups as now stored.
 */
export async function commitLatest(
  doc: DynamoDBDocumentClient,
  tableName: string,
  write: LatestWrite,
): Promise<LatestGroupItem[]> {
  return (
    await mapWithLimit(write.merges, GROUP_PUTS_IN_FLIGHT, async ({ key, current, changes }) => {
      let known: LatestGroupItem | undefined | null = current;
      for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
        await contendedWriteBackoff(attempt);
        if (known === null) {
          const { Item } = await doc.send(
            new GetCommand({ TableName: tableName, Key: key, ConsistentRead: true }),
          );
          known = Item as LatestGroupItem | undefined;
        }
        const merged = mergeLatest(known?.m ?? {}, changes);
        if (!merged && known) return known;
        const next: LatestGroupItem = {
          ...key,
          type: 'run-latest-group',
          ver: (known?.ver ?? 0) + 1,
          m: merged ?? {},
        };
        try {
          await doc.send(
            new PutCommand({
              TableName: tableName,
              Item: next,
              ...(known
                ? { ConditionExpression: 'ver = :read', ExpressionAttributeValues: { ':read': known.ver } }
                : { ConditionExpression: 'attribute_not_exists(pk)' }),
            }),
          );
          return next;
        } catch (error) {
          if (!isConditionFailure(error)) throw error;
          known = null;
        }
      }
      throw new ConcurrentWritesError(`the latest metrics of run ${key.pk.slice('RUN#'.length)}`);
    })
  ).filter((item): item is LatestGroupItem => item !== undefined);
}
