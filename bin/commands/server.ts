/**
 * `cairn server`: the local server in the foreground, until SIGINT or SIGTERM (or, under npm, until the
 * npm process that started it is gone).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { DataDirLockedError } from '../../local/data-dir-lock.js';
import { invalidAllowedHosts } from '../../local/host-check.js';
import { startLocalServer } from '../../local/server.js';
import { USAGE } from '../usage.js';

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|::1)$/;

/** How often a server started by npm checks that its parent is still there. */
const PARENT_CHECK_MS = 250;

/**
 * Calls `onOrphaned` once this process has been handed to another parent, when npm started it.
 *
 * `npm start` and `npx cairn server` run the command as `sh -c '…'`, and npm forwards SIGTERM to that
 * shell only. Debian's sh (dash) neither execs its last command nor passes the signal on: it dies and
 * leaves this process running under init, with its port and the data directory's lock. (A terminal's
 * Ctrl-C reaches the whole process group, which is why only supervisors and scripts, which signal the
 * PID they started, hit this.) Node has no way to ask the kernel for a signal when the parent dies, so the
 * server looks at its parent pid instead — only when it is the npm script's one command, run by npm's
 * own shell: a server that a script backgrounds (`cairn server … &`, or from a script file), or that is
 * started with `nohup … &`, is meant to outlive the shell that started it.
 */
function watchParent(parent: number | undefined, onOrphaned: () => void): () => void {
  if (parent === undefined) return () => undefined;
  const timer = setInterval(() => {
    if (process.ppid !== parent) onOrphaned();
  }, PARENT_CHECK_MS);
  timer.unref();
  return () => clearInterval(timer);
}

/** Whether the parent is npm's `sh -c '<script>'` (npm start, npx) and the script is this command alone. */
function startedByNpmShell(): boolean {
  const script = process.env.npm_lifecycle_script;
  if (process.env.npm_lifecycle_event === undefined || script === undefined) return false;
  // `a & b`, `a; b`, `a | b`, `a && b`: the server is one of several commands, not the script itself.
  // Redirections that name a descriptor (`2>&1`, `&> log`, `>&2`) are not operators: their `&` goes first.
  if (/[;&|\n]/.test(script.replace(/\d*[<>]&(\d+|-)?|&>>?/g, ' '))) return false;
  try {
    // Linux: the parent's argv, NUL-separated. Elsewhere there is no /proc; the check above stands alone.
    const argv = readFileSync(`/proc/${process.ppid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    // npx quotes the command it runs (`sh -c "'cairn' server …"`), so the shell's command is not compared
    // with the script: a script file (`sh ./start.sh`) or an interactive shell has no `-c`.
    return argv.length === 3 && /(^|\/)sh$/.test(argv[0] ?? '') && argv[1] === '-c';
  } catch {
    return true;
  }
}

export async function server(args: string[]): Promise<number> {
  // Read before anything else: once the Tracking URI line is out, whoever started npm may stop it, and a
  // parent read after the shell died would be init's (the server would then never notice it was orphaned).
  const npmShell = startedByNpmShell() ? process.ppid : undefined;
  const { values } = parseArgs({
    args,
    options: {
      host: { type: 'string', default: process.env.CAIRN_HOST || '127.0.0.1' },
      port: { type: 'string', default: process.env.CAIRN_PORT || '5000' },
      'data-dir': { type: 'string', default: process.env.CAIRN_DATA_DIR || './cairn-data' },
      auth: { type: 'boolean', default: false },
      'allowed-hosts': { type: 'string', default: process.env.CAIRN_ALLOWED_HOSTS || '' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`cairn: --port must be a whole number from 0 to 65535, not '${values.port}'`);
    return 2;
  }
  if (!values.auth && !LOOPBACK.test(values.host)) {
    console.error(
      `cairn: refusing to listen on ${values.host} without authentication: anyone who could reach it could read and write all data. Start with --auth (and create tokens with 'cairn token create'), or listen on 127.0.0.1.`,
    );
    return 2;
  }
  const allowedHosts = values['allowed-hosts'].split(',');
  const invalid = invalidAllowedHosts(allowedHosts);
  if (invalid.length > 0) {
    console.error(
      `cairn: --allowed-hosts takes host names, exactly as clients will send them (no wildcards): not ${invalid.map((name) => `'${name}'`).join(', ')}`,
    );
    return 2;
  }
  let running: Awaited<ReturnType<typeof startLocalServer>>;
  try {
    running = await startLocalServer({
      host: values.host,
      port,
      dataDir: values['data-dir'],
      auth: values.auth,
      allowedHosts,
    });
  } catch (error) {
    if (error instanceof DataDirLockedError) {
      console.error(`cairn: ${error.message}`);
      return 1;
    }
    throw error;
  }
  if (values.auth) {
    console.log(
      `Authentication: on. Clients need MLFLOW_TRACKING_TOKEN (or MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD) from 'cairn token create'.`,
    );
  }
  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (reason: string) => {
      // Ctrl-C in a terminal signals npm, its shell and this process at once: stop only once.
      if (stopping) return;
      stopping = true;
      unwatch();
      console.log(`cairn: ${reason}, shutting down`);
      running.close().then(resolve, (error: unknown) => {
        console.error(`cairn: error while shutting down: ${String(error)}`);
        resolve();
      });
    };
    const unwatch = watchParent(npmShell, () =>
      stop('npm, which started it, has stopped (npm does not pass SIGTERM on)'),
    );
    process.once('SIGINT', () => stop('SIGINT received'));
    process.once('SIGTERM', () => stop('SIGTERM received'));
    // Announced only now: a script that waits for this line and then signals must find the handlers in place.
    console.log(`Tracking URI: ${running.url}`);
    console.log(`Web UI: ${running.url}/`);
  });
  return 0;
}
