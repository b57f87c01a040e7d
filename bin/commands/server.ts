/** `cairn server`: the local server in the foreground, until SIGINT or SIGTERM. */
import { parseArgs } from 'node:util';
import { DataDirLockedError } from '../../local/data-dir-lock.js';
import { startLocalServer } from '../../local/server.js';
import { USAGE } from '../usage.js';

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|::1)$/;

export async function server(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      host: { type: 'string', default: process.env.CAIRN_HOST || '127.0.0.1' },
      port: { type: 'string', default: process.env.CAIRN_PORT || '5000' },
      'data-dir': { type: 'string', default: process.env.CAIRN_DATA_DIR || './cairn-data' },
      auth: { type: 'boolean', default: false },
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
  let running: Awaited<ReturnType<typeof startLocalServer>>;
  try {
    running = await startLocalServer({
      host: values.host,
      port,
      dataDir: values['data-dir'],
      auth: values.auth,
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
  console.log(`Tracking URI: ${running.url}`);
  await new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      console.log(`cairn: ${signal} received, shutting down`);
      running.close().then(resolve, (error: unknown) => {
        console.error(`cairn: error while shutting down: ${String(error)}`);
        resolve();
      });
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  return 0;
}
