/**
 * Stands in for `@aws-sdk/endpoint-cache` in the Lambda bundles (an esbuild alias in
 * infra/constructs/bundling.ts). The DynamoDB client builds one for endpoint discovery, which no
 * DynamoDB operation Cairn calls requires and which is off unless configured; the cache's LRU library
 * costs ~7 KB of the 400 KB budget. Should discovery ever be turned on, the first use fails loudly.
 */
export class EndpointCache {
  private unavailable(): never {
    throw new Error('DynamoDB endpoint discovery is not bundled (infra/lambda/no-endpoint-cache.ts)');
  }

  getEndpoint(_key: string): string | undefined {
    return this.unavailable();
  }

  get(_key: string): never {
    return this.unavailable();
  }

  set(_key: string, _endpoints: unknown): never {
    return this.unavailable();
  }

  delete(_key: string): never {
    return this.unavailable();
  }

  has(_key: string): boolean {
    return false;
  }

  clear(): void {}
}
