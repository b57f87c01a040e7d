/**
 * One server per data directory. dynalite's LevelDB would let a second process listen and then crash on
 * its first request (LEVEL_DATABASE_NOT_OPEN), so the server takes this lock before starting it.
 */
import { chmodSync, closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';

export class DataDirLockedError extends Error {
  constructor(dataDir: string, pid: number) {
    super(
      `Another Cairn server (pid ${pid}) is already using the data directory ${dataDir}. Stop it first, or start this one with a different --data-dir.`,
    );
    this.name = 'DataDirLockedError';
  }
}

/** Whether `pid` names a live process (ours or another user's). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The data directory holds every token hash, the stand-ins' sockets and files: this user's only. The
 * process umask goes private too (LevelDB and s3rver create files as they go, with default modes), and
 * stays so: the process that opens a data directory keeps writing into it until it exits.
 */
export function makeDataDirPrivate(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  process.umask(process.umask() | 0o077);
}

/** Takes the lock (replacing one left by a process that is gone) and returns its release function. */
export function lockDataDir(dataDir: string): () => void {
  const dir = resolve(dataDir);
  makeDataDirPrivate(dir);
  const lockPath = join(dir, 'cairn.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(lockPath, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(lockPath, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const pid = Number.parseInt(readFileSync(lockPath, 'utf8'), 10);
    if (Number.isInteger(pid) && isAlive(pid)) throw new DataDirLockedError(dir, pid);
    rmSync(lockPath, { force: true }); // stale: its process is gone (killed, crashed)
  }
  throw new Error(`Could not lock the data directory ${dir}`);
}
