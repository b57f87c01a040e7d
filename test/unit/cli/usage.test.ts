/**
 * A mistake in one command's arguments shows that command's usage and the error, not every command's
 * help (about 100 lines a user had to scroll back through to find the one line that mattered).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../../bin/cli.js';
import { commandUsage, USAGE } from '../../../bin/usage.js';

afterEach(() => {
  vi.restoreAllMocks();
});

async function stderrOf(argv: string[]): Promise<{ code: number; stderr: string }> {
  const printed: string[] = [];
  vi.spyOn(console, 'error').mockImplementation((...parts: unknown[]) => {
    printed.push(parts.join(' '));
  });
  const code = await main(argv);
  return { code, stderr: printed.join('\n') };
}

describe('cairn usage on a mistake', () => {
  it('prints the error and only the failing command’s usage for a stray argument', async () => {
    const { code, stderr } = await stderrOf(['permission', 'list', 'cairn-data']);
    expect(code).toBe(2);
    expect(stderr).toContain("Unexpected argument 'cairn-data'");
    expect(stderr).toContain('cairn permission grant --user NAME');
    // TARGET's meaning, which the permission section only refers to.
    expect(stderr).toContain('--data-dir DIR');
    expect(stderr).not.toContain('cairn token create');
    expect(stderr).not.toContain('gc removes for good');
    expect(stderr.split('\n').length).toBeLessThan(40);
  });

  it('does the same for a usage error a command finds itself', async () => {
    const { code, stderr } = await stderrOf(['permission', 'grant', '--experiment', '1']);
    expect(code).toBe(2);
    expect(stderr).toContain('--user NAME is required');
    expect(stderr).toContain('permission:');
    expect(stderr).not.toContain('cairn import --from');
  });

  it('keeps each command’s paragraphs, and the whole text for an unknown command', () => {
    expect(commandUsage('policy')).toContain('policy migrate moves');
    expect(commandUsage('policy')).not.toContain('cairn permission');
    expect(commandUsage('env')).toContain('[--format shell|dotenv|json]');
    expect(commandUsage('env')).not.toContain('TARGET');
    expect(commandUsage('nope')).toBe(USAGE);
    // Every paragraph of the full text belongs to some command.
    const commands = ['server', 'token', 'policy', 'permission', 'migrate', 'gc', 'doctor', 'env', 'import'];
    const covered = commands.map(commandUsage).join('\n');
    for (const paragraph of USAGE.split('\n\n').slice(1)) expect(covered).toContain(paragraph);
  });
});
