/** Reading `cairn doctor`'s printed table in tests, and a loopback port where nothing listens. */
import { createServer } from 'node:net';

export interface DoctorStep {
  mark: string;
  line: string;
  fix?: string;
}

/** Each step by name: its mark (✓ ✗ -), its whole line, and the fix line under it if any. */
export function doctorSteps(stdout: string): Map<string, DoctorStep> {
  const found = new Map<string, DoctorStep>();
  let last: DoctorStep | undefined;
  for (const line of stdout.split('\n')) {
    const step = /^([✓✗-]) (.+?)\s{2,}/.exec(line);
    if (step) {
      last = { mark: step[1] as string, line };
      found.set((step[2] as string).trim(), last);
    } else if (last && /^\s+fix: /.test(line)) {
      last.fix = line.trim();
    }
  }
  return found;
}

export const DOCTOR_STEPS = [
  'health',
  'clock',
  'refuses requests without a token',
  'create experiment',
  'create run',
  'log-batch',
  'read metric history',
  'search runs',
  'upload a small artifact',
  'multipart upload',
  'download through the 307',
  'registry: model, version, alias',
  'cleanup',
];

/** A port that was free a moment ago: bound, read, released. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}
