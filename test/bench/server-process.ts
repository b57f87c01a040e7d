/**
 * `cairn server` as its own process, as a user runs it, for benchmarks that measure it from outside; and
 * a server that answers `{}` at once, the floor a client's own request costs.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'cairn.mjs');

export interface ServerProcess {
  url: string;
  pid: number;
  /** CPU time (user + system) the process has used so far, in ms; undefined where /proc is not. */
  cpuMs(): number | undefined;
  close(): Promise<void>;
}

/** The `cairn server` of this checkout, or of another one's bin/cairn.mjs (to compare builds). */
export async function startServerProcess(dataDir: string, bin = BIN): Promise<ServerProcess> {
  return started(
    spawn(process.execPath, [bin, 'server', '--port', '0', '--data-dir', dataDir], {
      stdio: ['ignore', 'pipe', 'inherit'],
    }),
  );
}

// Answers `{}`, except where the stock client needs an id back to go on (set_experiment, start_run,
// end_run): there a minimal valid answer, so that a whole training script runs against the floor too.
const FLOOR = `
const experiment = { experiment_id: '1', name: 'floor', lifecycle_stage: 'active', artifact_location: 'mlflow-artifacts:/1' };
const run = () => ({ info: { run_id: 'f'.repeat(32), run_uuid: 'f'.repeat(32), experiment_id: '1', status: 'RUNNING',
  start_time: Date.now(), lifecycle_stage: 'active', artifact_uri: 'mlflow-artifacts:/1/run/artifacts' }, data: {}, inputs: {} });
const answers = {
  'experiments/get-by-name': () => ({ experiment }),
  'experiments/get': () => ({ experiment }),
  'experiments/create': () => ({ experiment_id: '1' }),
  'runs/create': () => ({ run: run() }),
  'runs/get': () => ({ run: run() }),
  'runs/update': () => ({ run_info: { ...run().info, status: 'FINISHED' } }),
};
const server = require('node:http').createServer((request, response) => {
  request.resume();
  request.on('end', () => {
    const endpoint = (request.url ?? '').split('?')[0].replace(/^.*\\/mlflow\\//, '');
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify(answers[endpoint]?.() ?? {}));
  });
});
server.listen(0, '127.0.0.1', () => console.log('Tracking URI: http://127.0.0.1:' + server.address().port));
process.on('SIGTERM', () => server.close());
`;

/**
 * An HTTP server that reads each request and answers at once, `{}` or a canned minimal answer: what the
 * client costs on its own.
 */
export async function startFloorServer(): Promise<ServerProcess> {
  return started(spawn(process.execPath, ['-e', FLOOR], { stdio: ['ignore', 'pipe', 'inherit'] }));
}

/** utime + stime of a process, from /proc/PID/stat (Linux; clock ticks of 10 ms). */
function cpuMsOf(pid: number): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return undefined;
  }
}

async function started(child: ChildProcess): Promise<ServerProcess> {
  const url = await new Promise<string>((resolve, reject) => {
    let output = '';
    child.stdout?.on('data', (chunk) => {
      output += chunk;
      const match = /Tracking URI: (\S+)/.exec(output);
      if (match) resolve(match[1] as string);
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
  const pid = child.pid as number;
  return {
    url,
    pid,
    cpuMs: () => cpuMsOf(pid),
    close: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
