/**
 * `npm run size`: each function's Lambda bundle (the CDK construct's esbuild settings) against the 1 MB
 * ceiling, and where its bytes come from. Exits non-zero when one is over, so CI or a pre-push hook can
 * run it on its own. The budget itself is module init (`npm run bench -- init`, design.md); bytes are
 * only its proxy, so this checks for something large creeping in, not for every kilobyte.
 */
import { BUNDLE_LIMIT_BYTES } from '../../infra/constructs/bundling.js';
import { buildBundle, bundledFunctions, largestParts } from './bundles.js';

let over = 0;
for (const fn of bundledFunctions()) {
  const bundle = await buildBundle(fn);
  const within = bundle.bytes < BUNDLE_LIMIT_BYTES;
  if (!within) over++;
  const kb = (bytes: number) => (bytes / 1024).toFixed(1);
  console.log(
    `${within ? 'ok  ' : 'OVER'} ${fn.padEnd(11)} ${kb(bundle.bytes).padStart(6)} KB of ${kb(BUNDLE_LIMIT_BYTES)} KB` +
      `  (${kb(BUNDLE_LIMIT_BYTES - bundle.bytes)} KB left; ${kb(bundle.initBytes)} KB loaded at init)`,
  );
  console.log(
    `     ${largestParts(bundle, 6)
      .map(([name, bytes]) => `${name} ${kb(bytes)}`)
      .join(', ')}`,
  );
}
process.exitCode = over > 0 ? 1 : 0;
