/**
 * Stands in for `@aws-sdk/credential-provider-node` in the Lambda bundles (an esbuild alias set in
 * infra/constructs/bundling.ts). Lambda always hands a function its role's credentials in environment
 * variables, so the rest of the default chain (SSO, INI files, STS web identity, process, container)
 * never runs there; leaving it out saves about 90 KB of the 400 KB bundle budget. The local server and
 * the tests do not bundle, so they keep the full chain.
 */
import { fromEnv } from '@aws-sdk/credential-provider-env';

export const defaultProvider = (init?: Parameters<typeof fromEnv>[0]) => fromEnv(init);
