/**
 * `cairn server` as a user runs it: a child process started through the package's bin, with its data
 * directory, its "Tracking URI:" line, its lock against a second server, clean shutdown on SIGTERM and
 * SIGINT, and data that survives restarts (also after SIGKILL).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Api } from '../helpers/http.js';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'cairn.mjs');
const dataDir = mkdtempSync(join(tmpdir(), 'cairn-lifecycle-'));
const children: ChildProcess[] = [];

afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

interface Running {
  child: ChildProcess;
  url: string;
  output: () => string;
}

function run(args: string[], env: Record<string, string> = {}): ChildProcess {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  return child;
}

function collect(child: ChildProcess): () => string {
  let text = '';
  child.stdout?.on('data', (chunk) => {
    text += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    text += chunk;
  });
  return () => text;
}

async function start(args: string[], env: Record<string, string> = {}): Promise<Running> {
  const child = run(args, env);
  const output = collect(child);
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no Tracking URI line; output:\n${output()}`)), 25_000);
    child.stdout?.on('data', () => {
      const match = /Tracking URI: (http:\/\/\S+)/.exec(output());
      if (match) {
        clearTimeout(timer);
        resolve(match[1] as string);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}; output:\n${output()}`));
    });
  });
  return { child, url, output };
}

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

describe('cairn server', () => {
  let first: Running;

  it('starts on the requested port and data directory and prints its tracking URI', async () => {
    first = await start(['server', '--port', '0', '--data-dir', dataDir]);
    expect(first.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const api = new Api(first.url);
    const created = await api.post<{ experiment_id: string }>('experiments/create', { name: 'persisted' });
    expect(created.status).toBe(200);
  });

  it('refuses a second server on the same data directory with a clear message', async () => {
    const second = run(['server', '--port', '0', '--data-dir', dataDir]);
    const output = collect(second);
    expect(await exited(second)).toBe(1);
    expect(output()).toContain('already using the data directory');
    // The first server is unharmed.
    expect((await new Api(first.url).request('GET', '/health')).status).toBe(200);
  });

  it('shuts down cleanly on SIGTERM and releases the data directory', async () => {
    first.child.kill('SIGTERM');
    expect(await exited(first.child)).toBe(0);
    expect(first.output()).toContain('shutting down');
    expect(existsSync(join(dataDir, 'cairn.lock'))).toBe(false);
  });

  it('keeps data across a restart, configured through environment variables', async () => {
    const again = await start(['server'], {
      CAIRN_PORT: '0',
      CAIRN_DATA_DIR: dataDir,
      CAIRN_HOST: '127.0.0.1',
    });
    const api = new Api(again.url);
    const found = await api.get<{ experiment: { name: string } }>('experiments/get-by-name', {
      experiment_name: 'persisted',
    });
    expect(found.status).toBe(200);
    expect((await api.get('experiments/get', { experiment_id: '0' })).status).toBe(200);
    // A server killed without a chance to clean up leaves a stale lock; the next one takes it over.
    again.child.kill('SIGKILL');
    await exited(again.child);
    const third = await start(['server', '--port', '0', '--data-dir', dataDir]);
    expect(
      (await new Api(third.url).get('experiments/get-by-name', { experiment_name: 'persisted' })).status,
    ).toBe(200);
    third.child.kill('SIGINT');
    expect(await exited(third.child)).toBe(0);
  });

  it('rejects unknown options and bad ports with usage and exit code 2', async () => {
    const bad = run(['server', '--port', 'seventy']);
    const output = collect(bad);
    expect(await exited(bad)).toBe(2);
    expect(output()).toContain('--port');
    const unknown = run(['server', '--colour']);
    expect(await exited(unknown)).toBe(2);
  });
});
