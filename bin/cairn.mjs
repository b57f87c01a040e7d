#!/usr/bin/env node
// The `cairn` command. The sources are TypeScript; tsx loads them directly so that `npm ci && npm start`
// needs no build step, and the local server runs the very handler sources that are bundled for Lambda.
import { register } from 'tsx/esm/api';

// The SDK is pinned by the lockfile, so its notice that future releases need Node 22 is not news to a user
// starting the local server on Node 20 (Lambda runs Node 22).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
register();
const { main } = await import('./cli.ts');
process.exitCode = await main(process.argv.slice(2));
