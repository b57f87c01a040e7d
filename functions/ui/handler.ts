/**
 * The ui function: the web UI's page and hashed assets, and `whoami`. The bundle was built when the
 * function was (infra/constructs/bundling.ts writes it beside this module) and is read once per
 * container; no request reads S3 or the disk.
 */
import { join } from 'node:path';
import { readUiBundle, UI_BUNDLE_DIR } from './bundle.js';
import { createUiHandler } from './serve.js';

export const handler = createUiHandler(readUiBundle(join(import.meta.dirname, UI_BUNDLE_DIR)));
