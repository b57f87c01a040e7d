/**
 * `cairn <command>`. Commands:
 *   server   run the tracking server locally on embedded stand-ins for DynamoDB and S3
 *   token    create, list and revoke API tokens, locally or in a deployed stack
 *   policy   set, read and delete registered models' promotion policies; read their promotion audit trail;
 *            migrate policies stored under model names by earlier builds
 *   permission  grant, revoke and list per-experiment and per-registered-model permissions of tokens
 *   migrate  bring data stored by earlier builds up to the current layout (run order keys)
 *   gc       remove for good runs and experiments deleted longer ago than a threshold, with their artifacts
 *   doctor   check a deployment (or any Cairn URL) end to end, with the fix for each failure
 *   env      print the environment a training job needs to log to a deployed stack
 *   import   copy experiments, runs, artifacts and the model registry from any MLflow tracking server
 */
import { commandUsage, USAGE } from './usage.js';

// Each command is loaded only when run: `cairn token` need not load the server and its stand-ins.
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'server':
        return await (await import('./commands/server.js')).server(rest);
      case 'token':
        return await (await import('./commands/token.js')).token(rest);
      case 'policy':
        return await (await import('./commands/policy.js')).policy(rest);
      case 'permission':
        return await (await import('./commands/permission.js')).permission(rest);
      case 'migrate':
        return await (await import('./commands/migrate.js')).migrate(rest);
      case 'gc':
        return await (await import('./commands/gc.js')).gc(rest);
      case 'doctor':
        return await (await import('./commands/doctor.js')).doctor(rest);
      case 'env':
        return await (await import('./commands/env.js')).env(rest);
      case 'import':
        return await (await import('./commands/import.js')).importCommand(rest);
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
      console.error(`cairn: ${error.message}\n\n${commandUsage(command ?? '')}`);
      return 2;
    }
    throw error;
  }
}
