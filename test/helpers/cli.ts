/**
 * The `cairn` command as a user runs it: a child process through the package's bin. Every child is
 * tracked so a file's afterAll can kill what a failed test left running.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'cairn.mjs');

export interface RunningCairn {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
}

export class CairnCli {
  private readonly children: ChildProcess[] = [];

  /** Starts `cairn <args>` with `env` added to this process's environment. */
  spawn(args: string[], env: Record<string, string> = {}): RunningCairn {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.children.push(child);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr?.on('data', (chunk) => {
      stderr += chunk;
    });
    return { child, stdout: () => stdout, stderr: () => stderr };
  }

  /** Runs `cairn <args>` to its exit. */
  async run(args: string[], env: Record<string, string> = {}) {
    const running = this.spawn(args, env);
    const code = await new Promise<number | null>((resolve) => running.child.once('exit', resolve));
    return { code, stdout: running.stdout(), stderr: running.stderr() };
  }

  killAll(): void {
    for (const child of this.children) if (child.exitCode === null) child.kill('SIGKILL');
  }
}
