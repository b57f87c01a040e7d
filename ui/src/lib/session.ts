/** Who is looking: the token's name and scope, which decide the actions the UI offers. */
import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { Whoami } from './api.js';

export interface Session extends Whoami {
  canWrite: boolean;
  isAdmin: boolean;
}

export function sessionOf(whoami: Whoami): Session {
  return {
    ...whoami,
    canWrite: whoami.scope === 'write' || whoami.scope === 'admin',
    isAdmin: whoami.scope === 'admin',
  };
}

export const SessionContext = createContext<Session>(sessionOf({ name: '', scope: 'read' }));

export function useSession(): Session {
  return useContext(SessionContext);
}
