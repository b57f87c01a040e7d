/**
 * `cairn <command>`. Commands:
 *   server   run the tracking server locally on embedded stand-ins for DynamoDB and S3
 */
import { parseArgs } from 'node:util';
import { DataDirLockedError } from '../shared/local/data-dir-lock.js';
import { startLocalServer } from '../shared/local/server.js';

const USAGE = `Usage: cairn server [--host HOST] [--port PORT] [--data-dir DIR]

  --host      address to listen on (env CAIRN_HOST, default 127.0.0.1)
  --port      port to listen on, 0 for any free port (env CAIRN_PORT, default 5000)
  --data-dir  where data is kept across restarts (env CAIRN_DATA_DIR, default ./cairn-data)`;

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|::1)$/;

async function server(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      host: { type: 'string', default: process.env.CAIRN_HOST || '127.0.0.1' },
      port: { type: 'string', default: process.env.CAIRN_PORT || '5000' },
      'data-dir': { type: 'string', default: process.env.CAIRN_DATA_DIR || './cairn-data' },
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
  if (!LOOPBACK.test(values.host)) {
    console.error(
      `cairn: warning: listening on ${values.host} without authentication; anyone who can reach this address can read and write all data.`,
    );
  }
  let running: Awaited<ReturnType<typeof startLocalServer>>;
  try {
    running = await startLocalServer({ host: values.host, port, dataDir: values['data-dir'] });
  } catch (error) {
    if (error instanceof DataDirLockedError) {
      console.error(`cairn: ${error.message}`);
      return 1;
    }
    throw error;
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

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'server':
        return await server(rest);
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        console.log(USAGE);
        return command === undefined ? 2 : 0;
      default:
        console.error(`cairn: unknown command '${command}'\n\n${USAGE}`);
        return 2;
    }
  } catch (error) {
    if (error instanceof TypeError && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS')) {
      console.error(`cairn: ${error.message}\n\n${USAGE}`);
      return 2;
    }
    throw error;
  }
}
