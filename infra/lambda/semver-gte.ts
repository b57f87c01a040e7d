/**
 * Stands in for `semver` in the Lambda bundles (an esbuild alias in infra/constructs/bundling.ts). The
 * X-Ray SDK under the Powertools Tracer reaches semver from two places and calls only `gte`: cls-hooked
 * checks the Node version once at load, and the SDK v2 patcher (never used here) checks the SDK's
 * version. The full package costs 28 KB of the 400 KB budget; plain `x.y.z` versions are all either
 * caller ever compares.
 */
function parts(version: string): number[] {
  const match = /^v?(\d+)\.(\d+)\.(\d+)/.exec(version.trim());
  if (!match) throw new TypeError(`Invalid Version: ${version}`);
  return [Number(match[1]), Number(match[2]), Number(match[3])];
}

export function gte(version: string, minimum: string): boolean {
  const [a, b] = [parts(version), parts(minimum)];
  for (let i = 0; i < 3; i++) {
    const difference = (a[i] as number) - (b[i] as number);
    if (difference !== 0) return difference > 0;
  }
  return true;
}

export default { gte };
