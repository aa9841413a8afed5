import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { Caller } from './api';
import { I18n } from './i18n';

export interface Session {
  caller: Caller;
  i18n: I18n;
  navigate: (path: string) => void;
}

export const SessionContext = createContext<Session>({
  caller: { name: '', role: 'viewer' },
  i18n: new I18n('en'),
  navigate: () => undefined,
});

export const useSession = (): Session => useContext(SessionContext);
