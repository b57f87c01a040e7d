/** How every function is bundled, shared by the CDK construct and `npm run bench` (bundle sizes). */
import { join } from 'node:path';

export const REPO_ROOT = join(import.meta.dirname, '..', '..');

/** Module replacements for Lambda bundles; see infra/lambda/env-credentials.ts. */
export const LAMBDA_ALIASES: Record<string, string> = {
  '@aws-sdk/credential-provider-node': join(REPO_ROOT, 'infra', 'lambda', 'env-credentials.ts'),
};

/** Some CommonJS dependencies call require() for Node built-ins; ESM output needs a require. */
export const ESM_REQUIRE_BANNER =
  "import { createRequire as __cairnCreateRequire } from 'node:module'; const require = __cairnCreateRequire(import.meta.url);";
