import type { JSX } from 'preact';
import { useCallback, useEffect, useMemo, useState } from 'preact/hooks';
import { ApiError, call, isAdmin, setCsrfToken, whenSignedOut, type Caller, type Role } from './api';
import { SessionContext, type Session } from './context';
import { I18n, initialLocale, LOCALE_NAMES, LOCALES, saveLocale, type Key, type Locale } from './i18n';
import { AdminPage } from './pages/admin';
import { ListsPage } from './pages/lists';
import { MastersPage } from './pages/masters';
import { NewTaskPage } from './pages/new-task';
import { ParkedPage } from './pages/parked';
import { SignInPage } from './pages/sign-in';
import { SystemPage } from './pages/system';
import { TaskPage } from './pages/task';
import { TasksPage } from './pages/tasks';
import { visible } from './text';
import { Link, Text } from './widgets';

interface WhoAmI {
  caller: { name: string; role: Role };
  csrfToken: string | null;
}

const NAV: { href: string; key: Key; writers?: boolean; admins?: boolean }[] = [
  { href: '/tasks', key: 'nav.tasks' },
  { href: '/tasks/new', key: 'nav.newTask', writers: true },
  { href: '/masters', key: 'nav.masters' },
  { href: '/lists', key: 'nav.lists' },
  { href: '/parked', key: 'nav.parked' },
  { href: '/system', key: 'nav.system' },
  { href: '/admin', key: 'nav.admin', admins: true },
];

function currentPath(): string {
  return window.location.pathname;
}

export function App(): JSX.Element {
  const [locale, setLocale] = useState<Locale>(initialLocale);
  const i18n = useMemo(() => new I18n(locale), [locale]);
  const [caller, setCaller] = useState<Caller | null | undefined>(undefined);
  const [path, setPath] = useState(currentPath);

  useEffect(() => {
    document.documentElement.lang = locale;
    document.title = i18n.t('app.title');
  }, [locale, i18n]);

  useEffect(() => {
    const onPop = (): void => setPath(currentPath());
    window.addEventListener('popstate', onPop);
    whenSignedOut(() => {
      setCsrfToken(null);
      setCaller(null);
    });
    call<WhoAmI>('GET', '/session').then(
      (who) => {
        setCsrfToken(who.csrfToken);
        setCaller({ name: who.caller.name, role: who.caller.role });
      },
      (err: unknown) => {
        if (!(err instanceof ApiError) || err.status !== 401) console.warn('cannot read the session', err);
        setCaller(null);
      },
    );
    return () => window.removeEventListener('popstate', onPop);
  }, []);

  const navigate = useCallback((to: string) => {
    if (to !== currentPath() + window.location.search) window.history.pushState(null, '', to);
    setPath(currentPath());
    window.scrollTo(0, 0);
  }, []);

  const chooseLocale = (l: Locale): void => {
    saveLocale(l);
    setLocale(l);
  };

  const signOut = async (): Promise<void> => {
    await call('DELETE', '/session').catch(() => undefined);
    setCsrfToken(null);
    setCaller(null);
  };

  const languagePicker = (
    <label class="language">
      <span class="visually-hidden">{i18n.t('app.language')}</span>
      <select data-testid="language" value={locale} onChange={(e) => chooseLocale(e.currentTarget.value as Locale)}>
        {LOCALES.map((l) => (
          <option value={l} key={l}>
            {LOCALE_NAMES[l]}
          </option>
        ))}
      </select>
    </label>
  );

  if (caller === undefined) return <p class="loading">{i18n.t('app.loading')}</p>;
  const session: Session = { caller: caller ?? { name: '', role: 'viewer' }, i18n, navigate };
  if (caller === null) {
    return (
      <SessionContext.Provider value={session}>
        <header class="top">
          <span class="brand">{i18n.t('app.title')}</span>
          {languagePicker}
        </header>
        <main>
          <SignInPage
            onSignedIn={(c, token) => {
              setCsrfToken(token);
              setCaller(c);
            }}
          />
        </main>
      </SessionContext.Provider>
    );
  }
  const writer = caller.role !== 'viewer';
  const admin = isAdmin(caller.role);
  return (
    <SessionContext.Provider value={session}>
      <header class="top">
        <Link href="/tasks" class="brand">
          {i18n.t('app.title')}
        </Link>
        <nav>
          {NAV.filter((n) => (writer || n.writers !== true) && (admin || n.admins !== true)).map((n) => (
            <Link href={n.href} key={n.href} class={path === n.href ? 'current' : ''}>
              {i18n.t(n.key)}
            </Link>
          ))}
        </nav>
        <span class="who" data-testid="who">
          {i18n.t('app.signedInAs', { name: visible(caller.name), role: i18n.t(`role.${caller.role}`) })}
        </span>
        {languagePicker}
        <button type="button" class="secondary" onClick={() => void signOut()}>
          {i18n.t('app.signOut')}
        </button>
      </header>
      <main>{route(path, writer, admin)}</main>
    </SessionContext.Provider>
  );
}

function route(path: string, writer: boolean, admin: boolean): JSX.Element {
  if (path === '/' || path === '/tasks') return <TasksPage />;
  if (path === '/tasks/new') return writer ? <NewTaskPage /> : <NotFound />;
  const task = /^\/tasks\/([^/]+)$/.exec(path);
  if (task?.[1] !== undefined) return <TaskPage taskId={decodeURIComponent(task[1])} />;
  if (path === '/masters') return <MastersPage />;
  if (path === '/lists') return <ListsPage />;
  if (path === '/parked') return <ParkedPage />;
  if (path === '/system') return <SystemPage />;
  if (path === '/admin') return admin ? <AdminPage /> : <NotFound />;
  return <NotFound />;
}

function NotFound(): JSX.Element {
  return (
    <SessionContext.Consumer>
      {(s) => (
        <p>
          <Text value={s.i18n.t('app.notFound')} />
        </p>
      )}
    </SessionContext.Consumer>
  );
}
