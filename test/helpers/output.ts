/**
 * Captures what the process writes — stdout, stderr, and console output (which vitest takes over before
 * it reaches the streams) — for tests that check log lines. The captured output is held back, so that a
 * passing suite prints results only; `restore()` prints it after all when the test that captured it failed.
 */
export interface CapturedOutput {
  /** Everything written so far, in order. */
  readonly written: string[];
  /** The lines that are JSON objects (structured logs and EMF), parsed. */
  jsonLines(): Record<string, unknown>[];
  /** Puts the streams and console back; with `failed`, prints what was held back. */
  restore(failed?: boolean): void;
}

export function captureOutput(): CapturedOutput {
  const written: string[] = [];
  const undo: (() => void)[] = [];
  for (const stream of [process.stdout, process.stderr]) {
    const original = stream.write.bind(stream);
    stream.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      written.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      const callback = rest.find((arg) => typeof arg === 'function') as (() => void) | undefined;
      callback?.();
      return true;
    }) as typeof stream.write;
    undo.push(() => {
      stream.write = original as typeof stream.write;
    });
  }
  for (const method of ['log', 'error', 'warn'] as const) {
    const original = console[method];
    console[method] = (...args: unknown[]) => {
      written.push(`${args.map(String).join(' ')}\n`);
    };
    undo.push(() => {
      console[method] = original;
    });
  }
  return {
    written,
    jsonLines: () =>
      written
        .join('')
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .flatMap((line) => {
          try {
            return [JSON.parse(line) as Record<string, unknown>];
          } catch {
            return []; // console.log of an object prints `{ key: … }`, not JSON
          }
        }),
    restore: (failed = false) => {
      for (const step of undo.reverse()) step();
      undo.length = 0;
      if (failed) process.stderr.write(written.join(''));
    },
  };
}

/**
 * Runs `build` with CDK's "Bundling asset …" progress lines (written straight to stderr, past vitest's
 * console capture) held back, so that a passing infra suite prints results only. Anything else written
 * to stderr meanwhile still goes through.
 */
export function withoutBundlingProgress<T>(build: () => T): T {
  const original = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    if (typeof chunk === 'string' && chunk.startsWith('Bundling asset ')) return true;
    return (original as (...args: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof process.stderr.write;
  try {
    return build();
  } finally {
    process.stderr.write = original as typeof process.stderr.write;
  }
}
