#!/usr/bin/env node
// The `cairn` command. The sources are TypeScript; tsx loads them directly so that `npm ci && npm start`
// needs no build step, and the local server runs the very handler sources that are bundled for Lambda.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./cli.ts');
process.exitCode = await main(process.argv.slice(2));
