/**
 * `cairn server` as a user runs it: a child process started through the package's bin, with its data
 * directory, its "Tracking URI:" line, its lock against a second server, clean shutdown on SIGTERM and
 * SIGINT (also when SIGTERM goes to `npm start`), and data that survives restarts (also after SIGKILL).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Api } from '../helpers/http.js';

const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'cairn.mjs');
const dataDir = mkdtempSync(join(tmpdir(), 'cairn-lifecycle-'));
const npmDataDir = mkdtempSync(join(tmpdir(), 'cairn-lifecycle-npm-'));
const backgroundDataDir = mkdtempSync(join(tmpdir(), 'cairn-lifecycle-bg-'));
const redirectDataDir = mkdtempSync(join(tmpdir(), 'cairn-lifecycle-redirect-'));
const children: ChildProcess[] = [];
/** Servers this file reached only by their pid (started by `npm start`); killed if a test left them. */
const orphans: number[] = [];

afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  for (const pid of orphans) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(npmDataDir, { recursive: true, force: true });
  rmSync(backgroundDataDir, { recursive: true, force: true });
  rmSync(redirectDataDir, { recursive: true, force: true });
});

interface Running {
  child: ChildProcess;
  url: string;
  output: () => string;
}

function run(args: string[], env: Record<string, string> = {}): ChildProcess {
  return track(
    spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
}

function track(child: ChildProcess): ChildProcess {
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
  return started(run(args, env));
}

async function started(child: ChildProcess): Promise<Running> {
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
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

/** Waits until a server on `port` answers /health; its URL. */
async function healthy(port: number): Promise<string> {
  const health = `http://127.0.0.1:${port}/health`;
  while (
    !(await fetch(health).then(
      (r) => r.ok,
      () => false,
    ))
  ) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return health;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Resolves once `pid` has exited; the test's timeout bounds the wait. */
async function gone(pid: number): Promise<void> {
  while (isAlive(pid)) await new Promise((resolve) => setTimeout(resolve, 50));
}

/** A port nothing listens on now, for a server that must be started on a known port. */
function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

/** Whether nothing listens on `port` any more: this process can take it. */
function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
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

  it('stops when SIGTERM goes to `npm start`, freeing its port and the data directory', async () => {
    // npm runs the script through `sh -c` and signals only that shell: the test signals the PID it
    // started, as a supervisor or a script does.
    const npm = track(
      spawn('npm', ['start'], {
        cwd: ROOT,
        env: { ...process.env, CAIRN_PORT: '0', CAIRN_DATA_DIR: npmDataDir, CAIRN_HOST: '127.0.0.1' },
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    );
    const running = await started(npm);
    const port = Number(new URL(running.url).port);
    const serverPid = Number(readFileSync(join(npmDataDir, 'cairn.lock'), 'utf8'));
    orphans.push(serverPid);
    expect(serverPid).not.toBe(npm.pid);
    npm.kill('SIGTERM');
    await exited(npm);
    await gone(serverPid);
    expect(existsSync(join(npmDataDir, 'cairn.lock'))).toBe(false);
    expect(existsSync(join(npmDataDir, 'cairn.endpoint.json'))).toBe(false);
    expect(await portIsFree(port)).toBe(true);
    expect(running.output()).toContain('shutting down');
    // npm, then tsx compiling the server, then the server: under a full parallel suite on two cores
    // that alone has taken most of the default 30 s, so this one gets a minute (no timing is asserted).
  }, 60_000);

  it('outlives an npm script that starts it in the background and ends', async () => {
    const port = await freePort();
    // What npm would run for a `"pretest"` that starts a server in the background and ends once it is
    // up: its shell, with npm's variables. The shell outlives the server's start, so the server sees its
    // parent change.
    const log = join(backgroundDataDir, 'server.log');
    const script = `"${process.execPath}" "${BIN}" server --port ${port} --data-dir "${backgroundDataDir}" > "${log}" 2>&1 & until grep -q 'Tracking URI' "${log}" 2>/dev/null; do sleep 0.1; done; sleep 0.5`;
    const shell = track(
      spawn('sh', ['-c', script], {
        env: { ...process.env, npm_lifecycle_event: 'pretest', npm_lifecycle_script: script },
        stdio: 'ignore',
      }),
    );
    await exited(shell);
    const health = await healthy(port);
    const serverPid = Number(readFileSync(join(backgroundDataDir, 'cairn.lock'), 'utf8'));
    orphans.push(serverPid);
    // Several of the parent checks a server run as the script itself makes (every 250 ms) go by.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(isAlive(serverPid)).toBe(true);
    expect((await fetch(health)).status).toBe(200);
    process.kill(serverPid, 'SIGTERM');
    await gone(serverPid);
  });

  it('stops with the npm shell of a script that only redirects its output (`> log 2>&1`)', async () => {
    const port = await freePort();
    const log = join(redirectDataDir, 'server.log');
    // What npm runs for `"start": "cairn server … > log 2>&1"`: one command, whose `&` is a redirection's.
    const script = `"${process.execPath}" "${BIN}" server --port ${port} --data-dir "${redirectDataDir}" > "${log}" 2>&1`;
    const shell = track(
      spawn('sh', ['-c', script], {
        env: { ...process.env, npm_lifecycle_event: 'start', npm_lifecycle_script: script },
        stdio: 'ignore',
      }),
    );
    await healthy(port);
    const serverPid = Number(readFileSync(join(redirectDataDir, 'cairn.lock'), 'utf8'));
    orphans.push(serverPid);
    expect(serverPid).not.toBe(shell.pid);
    shell.kill('SIGTERM');
    await exited(shell);
    await gone(serverPid);
    expect(existsSync(join(redirectDataDir, 'cairn.lock'))).toBe(false);
    expect(await portIsFree(port)).toBe(true);
  });
});
