/**
 * What the pages say where permissions shape what a caller sees: an empty models list under --auth, a
 * refused rename, and the question before a MANAGE holder lowers or revokes its own grant.
 */
import { describe, expect, it } from 'vitest';
import { actionFailure, emptyModelsMessage, selfLoweringWarning } from '../../../ui/src/lib/messages.js';

/** As ui/src/lib/api.ts's ApiError (which needs the DOM to load): a status beside the message. */
const apiError = (status: number, message: string) => Object.assign(new Error(message), { status });

const writer = { name: 'alice', scope: 'write' as const, auth: true };
const admin = { name: 'root', scope: 'admin' as const, auth: true };
const open = { name: '', scope: 'admin' as const, auth: false };

describe('emptyModelsMessage', () => {
  it('does not claim there are none when models may be hidden from the token', () => {
    expect(emptyModelsMessage('', writer)).toBe('No registered models you can see.');
    expect(emptyModelsMessage('', { ...writer, scope: 'read' })).toBe('No registered models you can see.');
    // An admin sees every model, and without --auth everyone does.
    expect(emptyModelsMessage('', admin)).toBe('No registered models yet.');
    expect(emptyModelsMessage('', open)).toBe('No registered models yet.');
    expect(emptyModelsMessage(' fraud ', writer)).toBe('No model name contains “fraud”.');
  });
});

describe('actionFailure', () => {
  it('turns a 403 into a short refusal, keeping the server’s words as detail', () => {
    const refused = apiError(403, "Token 'alice' holds READ on experiment '3'; this needs EDIT.");
    expect(actionFailure(refused, 'rename this experiment')).toEqual({
      text: 'You may not rename this experiment: your token does not hold the permission it needs.',
      detail: "Token 'alice' holds READ on experiment '3'; this needs EDIT.",
    });
  });

  it('shows any other error’s message as it is (a 400 says what is wrong with the name)', () => {
    const invalid = apiError(400, "Invalid experiment name ''");
    expect(actionFailure(invalid, 'rename')).toEqual({ text: "Invalid experiment name ''" });
    expect(actionFailure(new Error('Failed to fetch'), 'rename')).toEqual({ text: 'Failed to fetch' });
  });
});

describe('selfLoweringWarning', () => {
  it('asks before the caller lowers or revokes its own MANAGE', () => {
    expect(selfLoweringWarning(writer, 'alice', 'EDIT', 'experiment')).toMatch(
      /^Lower your own permission to EDIT on this experiment\? You will hold EDIT here/,
    );
    // A revoke leaves the scope's default: EDIT for a write token, below MANAGE.
    expect(selfLoweringWarning(writer, 'alice', undefined, 'model')).toMatch(
      /^Revoke your own grant on this model\? You will hold EDIT here/,
    );
  });

  it('asks nothing for someone else’s grant, a change that keeps MANAGE, or an admin', () => {
    expect(selfLoweringWarning(writer, 'bob', 'NO_PERMISSIONS', 'experiment')).toBeUndefined();
    expect(selfLoweringWarning(writer, 'alice', 'MANAGE', 'experiment')).toBeUndefined();
    expect(selfLoweringWarning(admin, 'root', 'READ', 'experiment')).toBeUndefined();
    expect(selfLoweringWarning(open, '', 'READ', 'experiment')).toBeUndefined();
  });
});
