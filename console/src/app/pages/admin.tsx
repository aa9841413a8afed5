import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { call, query, ROLES, type ApiToken, type AuditRecord, type CreatedToken, type Destination, type Page, type Role, type User } from '../api';
import { useSession } from '../context';
import { Confirm, ErrorLine, Pager, Text } from '../widgets';

const PAGE_SIZE = 25;
const AUDIT_PAGE = 50;

/** Users, API tokens, destinations and the audit log: the admin's page (the app shows it to admins only). */
export function AdminPage(): JSX.Element {
  const { i18n } = useSession();
  return (
    <section>
      <h1>{i18n.t('admin.title')}</h1>
      <Users />
      <Tokens />
      <Destinations />
      <Audit />
    </section>
  );
}

/** A slice of `items` a page at a time, for lists the server returns whole. */
function usePaged<T>(items: readonly T[] | null): { shown: readonly T[]; pager: JSX.Element | null } {
  const [page, setPage] = useState(0);
  const count = items?.length ?? 0;
  const pages = Math.max(1, Math.ceil(count / PAGE_SIZE));
  const current = Math.min(page, pages - 1);
  const shown = items?.slice(current * PAGE_SIZE, (current + 1) * PAGE_SIZE) ?? [];
  const pager = count > PAGE_SIZE ? <Pager page={current + 1} hasPrevious={current > 0} hasNext={current + 1 < pages} onPrevious={() => setPage(current - 1)} onNext={() => setPage(current + 1)} /> : null;
  return { shown, pager };
}

function RoleSelect({ value, onChange, name, label }: { value: Role; onChange: (r: Role) => void; name: string; label?: string }): JSX.Element {
  const { i18n } = useSession();
  return (
    <select name={name} value={value} aria-label={label} onChange={(e) => onChange(e.currentTarget.value as Role)}>
      {ROLES.map((r) => (
        <option key={r} value={r}>
          {i18n.t(`role.${r}`)}
        </option>
      ))}
    </select>
  );
}

function Users(): JSX.Element {
  const { i18n, caller } = useSession();
  const [users, setUsers] = useState<User[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState<string | null>(null);
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [role, setRole] = useState<Role>('viewer');
  const [passwordFor, setPasswordFor] = useState<string | null>(null);
  const [newPassword, setNewPassword] = useState('');
  const [removing, setRemoving] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const { shown, pager } = usePaged(users);

  const load = async (): Promise<void> => {
    try {
      setUsers((await call<{ items: User[] }>('GET', '/users')).items);
    } catch (err) {
      setError(err);
    }
  };
  useEffect(() => void load(), []);

  /** Runs one change; on success says `message` and reads the list again. */
  const act = async (work: () => Promise<unknown>, message: string): Promise<boolean> => {
    setBusy(true);
    setError(null);
    setDone(null);
    try {
      await work();
      setDone(message);
      await load();
      return true;
    } catch (err) {
      setError(err);
      return false;
    } finally {
      setBusy(false);
    }
  };

  return (
    <div class="card" data-testid="users">
      <h2>{i18n.t('admin.users')}</h2>
      <form
        class="grid"
        onSubmit={(e) => {
          e.preventDefault();
          void act(() => call('POST', '/users', { name, password, role }), i18n.t('admin.userCreated', { name })).then((ok) => {
            if (ok) {
              setName('');
              setPassword('');
            }
          });
        }}
      >
        <label>
          {i18n.t('admin.userName')}
          <input name="user-name" value={name} autocomplete="off" maxLength={64} required onInput={(e) => setName(e.currentTarget.value)} />
        </label>
        <label>
          {i18n.t('admin.password')}
          <input name="user-password" type="password" autocomplete="new-password" value={password} required onInput={(e) => setPassword(e.currentTarget.value)} />
          <small>{i18n.t('admin.passwordRule')}</small>
        </label>
        <label>
          {i18n.t('admin.role')}
          <RoleSelect name="user-role" value={role} onChange={setRole} />
        </label>
        <div class="actions wide">
          <button type="submit" class="primary" data-testid="create-user" disabled={busy}>
            {i18n.t('admin.createUser')}
          </button>
        </div>
      </form>
      {done !== null && (
        <p class="ok" role="status">
          <Text value={done} />
        </p>
      )}
      <ErrorLine error={error} />
      {users === null && error === null && <p class="loading">{i18n.t('app.loading')}</p>}
      {users !== null && users.length === 0 && <p>{i18n.t('admin.noUsers')}</p>}
      {shown.length > 0 && (
        <div class="scroll">
          <table>
            <thead>
              <tr>
                <th>{i18n.t('admin.userName')}</th>
                <th>{i18n.t('admin.role')}</th>
                <th>{i18n.t('admin.lastLogin')}</th>
                <th>{i18n.t('admin.created')}</th>
                <th>{i18n.t('admin.actions')}</th>
              </tr>
            </thead>
            <tbody>
              {shown.map((u) => (
                <tr key={u.name} data-testid="user-row">
                  <td class="mono">
                    <Text value={u.name} />
                    {u.disabled && <small> · {i18n.t('admin.disabled')}</small>}
                  </td>
                  <td>
                    <RoleSelect
                      name={`role-${u.name}`}
                      value={u.role}
                      label={i18n.t('admin.roleOf', { name: u.name })}
                      onChange={(r) => void act(() => call('PUT', `/users/${encodeURIComponent(u.name)}/role`, { role: r }), i18n.t('admin.roleChanged', { name: u.name, role: i18n.t(`role.${r}`) }))}
                    />
                  </td>
                  <td>{u.lastLoginAt === null ? i18n.t('admin.never') : i18n.time(u.lastLoginAt)}</td>
                  <td>
                    {i18n.time(u.createdAt)} · <Text value={u.createdBy} />
                  </td>
                  <td>
                    <div class="actions">
                      <button type="button" class="secondary" onClick={() => setPasswordFor(passwordFor === u.name ? null : u.name)}>
                        {i18n.t('admin.setPassword')}
                      </button>
                      {u.name !== caller.name && (
                        <button type="button" class="danger" data-testid="remove-user" onClick={() => setRemoving(u.name)}>
                          {i18n.t('admin.remove')}
                        </button>
                      )}
                    </div>
                    {passwordFor === u.name && (
                      <form
                        class="inline-form"
                        onSubmit={(e) => {
                          e.preventDefault();
                          void act(() => call('PUT', `/users/${encodeURIComponent(u.name)}/password`, { password: newPassword }), i18n.t('admin.passwordChanged', { name: u.name })).then((ok) => {
                            if (ok) {
                              setPasswordFor(null);
                              setNewPassword('');
                            }
                          });
                        }}
                      >
                        <input type="password" autocomplete="new-password" required aria-label={i18n.t('admin.newPassword')} placeholder={i18n.t('admin.newPassword')} value={newPassword} onInput={(e) => setNewPassword(e.currentTarget.value)} />
                        <button type="submit" class="primary" disabled={busy}>
                          {i18n.t('admin.save')}
                        </button>
                      </form>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {pager}
      <Confirm
        open={removing !== null}
        busy={busy}
        title={i18n.t('admin.removeUserTitle')}
        onClose={() => setRemoving(null)}
        onConfirm={() => {
          const who = removing ?? '';
          void act(() => call('DELETE', `/users/${encodeURIComponent(who)}`), i18n.t('admin.userRemoved', { name: who })).finally(() => setRemoving(null));
        }}
      >
        <p>
          <Text value={i18n.t('admin.removeUserBody', { name: removing ?? '' })} />
        </p>
      </Confirm>
    </div>
  );
}

function Tokens(): JSX.Element {
  const { i18n } = useSession();
  const [tokens, setTokens] = useState<ApiToken[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [name, setName] = useState('');
  const [role, setRole] = useState<Role>('operator');
  const [expires, setExpires] = useState('');
  const [created, setCreated] = useState<CreatedToken | null>(null);
  const [copied, setCopied] = useState(false);
  const [revoking, setRevoking] = useState<ApiToken | null>(null);
  const [busy, setBusy] = useState(false);
  const { shown, pager } = usePaged(tokens);

  const load = async (): Promise<void> => {
    try {
      setTokens((await call<{ items: ApiToken[] }>('GET', '/tokens')).items);
    } catch (err) {
      setError(err);
    }
  };
  useEffect(() => void load(), []);

  const create = async (): Promise<void> => {
    setBusy(true);
    setError(null);
    setCopied(false);
    try {
      const expiresAt = expires === '' ? undefined : new Date(`${expires}T23:59:59`).toISOString();
      setCreated(await call<CreatedToken>('POST', '/tokens', { name, role, ...(expiresAt !== undefined ? { expiresAt } : {}) }));
      setName('');
      await load();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  const revoke = async (): Promise<void> => {
    if (revoking === null) return;
    setBusy(true);
    try {
      await call('DELETE', `/tokens/${encodeURIComponent(revoking.id)}`);
      await load();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
      setRevoking(null);
    }
  };

  return (
    <div class="card" data-testid="tokens">
      <h2>{i18n.t('admin.tokens')}</h2>
      <form
        class="grid"
        onSubmit={(e) => {
          e.preventDefault();
          void create();
        }}
      >
        <label>
          {i18n.t('admin.tokenName')}
          <input name="token-name" value={name} maxLength={64} required onInput={(e) => setName(e.currentTarget.value)} />
        </label>
        <label>
          {i18n.t('admin.role')}
          <RoleSelect name="token-role" value={role} onChange={setRole} />
        </label>
        <label>
          {i18n.t('admin.expires')}
          <input name="token-expires" type="date" value={expires} onInput={(e) => setExpires(e.currentTarget.value)} />
          <small>{i18n.t('admin.expiresHelp')}</small>
        </label>
        <div class="actions wide">
          <button type="submit" class="primary" data-testid="create-token" disabled={busy}>
            {i18n.t('admin.createToken')}
          </button>
        </div>
      </form>
      {created && (
        <div class="secret" role="alert" data-testid="created-token">
          <p>
            <strong>{i18n.t('admin.tokenOnce')}</strong>
          </p>
          <div class="actions">
            <input readOnly class="mono" value={created.token} aria-label={i18n.t('admin.tokenSecret', { name: created.name })} data-testid="token-secret" onFocus={(e) => e.currentTarget.select()} />
            <button
              type="button"
              class="secondary"
              onClick={() =>
                void navigator.clipboard.writeText(created.token).then(
                  () => setCopied(true),
                  () => setCopied(false),
                )
              }
            >
              {i18n.t(copied ? 'admin.copied' : 'admin.copy')}
            </button>
            <button type="button" class="secondary" onClick={() => setCreated(null)}>
              {i18n.t('admin.tokenStored')}
            </button>
          </div>
          <small>{i18n.t('admin.tokenUse')}</small>
        </div>
      )}
      <ErrorLine error={error} />
      {tokens === null && error === null && <p class="loading">{i18n.t('app.loading')}</p>}
      {tokens !== null && tokens.length === 0 && <p>{i18n.t('admin.noTokens')}</p>}
      {shown.length > 0 && (
        <div class="scroll">
          <table>
            <thead>
              <tr>
                <th>{i18n.t('admin.tokenName')}</th>
                <th>{i18n.t('admin.role')}</th>
                <th>{i18n.t('admin.created')}</th>
                <th>{i18n.t('admin.expires')}</th>
                <th>{i18n.t('admin.lastUsed')}</th>
                <th>{i18n.t('admin.actions')}</th>
              </tr>
            </thead>
            <tbody>
              {shown.map((t) => (
                <tr key={t.id} data-testid="token-row">
                  <td class="mono">
                    <Text value={t.name} />
                  </td>
                  <td>{i18n.t(`role.${t.role}`)}</td>
                  <td>
                    {i18n.time(t.createdAt)} · <Text value={t.createdBy} />
                  </td>
                  <td>{t.expiresAt === null ? i18n.t('admin.noExpiry') : i18n.time(t.expiresAt)}</td>
                  <td>{t.lastUsedAt === null ? i18n.t('admin.never') : i18n.time(t.lastUsedAt)}</td>
                  <td>
                    <button type="button" class="danger" onClick={() => setRevoking(t)}>
                      {i18n.t('admin.revoke')}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {pager}
      <Confirm open={revoking !== null} busy={busy} title={i18n.t('admin.revokeTitle')} onClose={() => setRevoking(null)} onConfirm={() => void revoke()}>
        <p>
          <Text value={i18n.t('admin.revokeBody', { name: revoking?.name ?? '' })} />
        </p>
      </Confirm>
    </div>
  );
}

function Destinations(): JSX.Element {
  const { i18n } = useSession();
  const [destinations, setDestinations] = useState<Destination[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [name, setName] = useState('');
  const [url, setUrl] = useState('');
  const [removing, setRemoving] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const { shown, pager } = usePaged(destinations);

  const load = async (): Promise<void> => {
    try {
      setDestinations((await call<{ items: Destination[] }>('GET', '/destinations')).items);
    } catch (err) {
      setError(err);
    }
  };
  useEffect(() => void load(), []);

  const act = async (work: () => Promise<unknown>): Promise<boolean> => {
    setBusy(true);
    setError(null);
    try {
      await work();
      await load();
      return true;
    } catch (err) {
      setError(err);
      return false;
    } finally {
      setBusy(false);
    }
  };

  return (
    <div class="card" data-testid="destinations">
      <h2>{i18n.t('admin.destinations')}</h2>
      <form
        class="grid"
        onSubmit={(e) => {
          e.preventDefault();
          void act(() => call('POST', '/destinations', { name, url })).then((ok) => {
            if (ok) {
              setName('');
              setUrl('');
            }
          });
        }}
      >
        <label>
          {i18n.t('admin.destinationName')}
          <input name="destination-name" value={name} maxLength={64} required onInput={(e) => setName(e.currentTarget.value)} />
        </label>
        <label>
          {i18n.t('admin.destinationUrl')}
          <input name="destination-url" value={url} maxLength={2048} required spellcheck={false} placeholder="s3://bucket/prefix" onInput={(e) => setUrl(e.currentTarget.value)} />
          <small>{i18n.t('admin.destinationHelp')}</small>
        </label>
        <div class="actions wide">
          <button type="submit" class="primary" data-testid="add-destination" disabled={busy}>
            {i18n.t('admin.addDestination')}
          </button>
        </div>
      </form>
      <ErrorLine error={error} />
      {destinations === null && error === null && <p class="loading">{i18n.t('app.loading')}</p>}
      {destinations !== null && destinations.length === 0 && <p>{i18n.t('admin.noDestinations')}</p>}
      {shown.length > 0 && (
        <div class="scroll">
          <table>
            <thead>
              <tr>
                <th>{i18n.t('admin.destinationName')}</th>
                <th>{i18n.t('admin.destinationUrl')}</th>
                <th>{i18n.t('admin.source')}</th>
                <th>{i18n.t('admin.actions')}</th>
              </tr>
            </thead>
            <tbody>
              {shown.map((d) => (
                <tr key={d.name} data-testid="destination-row">
                  <td>
                    <Text value={d.name} />
                  </td>
                  <td class="mono">
                    <Text value={d.url} />
                  </td>
                  <td>{i18n.t(d.source === 'added' ? 'admin.added' : 'admin.configured')}</td>
                  <td>
                    {d.source === 'added' && (
                      <button type="button" class="danger" onClick={() => setRemoving(d.name)}>
                        {i18n.t('admin.remove')}
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {pager}
      <Confirm
        open={removing !== null}
        busy={busy}
        title={i18n.t('admin.removeDestinationTitle')}
        onClose={() => setRemoving(null)}
        onConfirm={() => {
          const which = removing ?? '';
          void act(() => call('DELETE', `/destinations/${encodeURIComponent(which)}`)).finally(() => setRemoving(null));
        }}
      >
        <p>
          <Text value={i18n.t('admin.removeDestinationBody', { name: removing ?? '' })} />
        </p>
      </Confirm>
    </div>
  );
}

function Audit(): JSX.Element {
  const { i18n } = useSession();
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const [page, setPage] = useState<Page<AuditRecord> | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [version, setVersion] = useState(0);
  const cursor = cursors[cursors.length - 1];

  useEffect(() => {
    let stale = false;
    call<Page<AuditRecord>>('GET', `/audit${query({ limit: AUDIT_PAGE, cursor })}`).then(
      (p) => {
        if (stale) return;
        setPage(p);
        setError(null);
      },
      (err: unknown) => !stale && setError(err),
    );
    return () => {
      stale = true;
    };
  }, [cursor, version]);

  return (
    <div class="card" data-testid="audit">
      <h2>{i18n.t('admin.audit')}</h2>
      <div class="actions">
        <button
          type="button"
          class="secondary"
          onClick={() => {
            setCursors([undefined]);
            setVersion((v) => v + 1);
          }}
        >
          {i18n.t('common.refresh')}
        </button>
      </div>
      <ErrorLine error={error} />
      {page === null && error === null && <p class="loading">{i18n.t('app.loading')}</p>}
      {page && page.items.length === 0 && <p>{i18n.t('admin.noAudit')}</p>}
      {page && page.items.length > 0 && (
        <div class="scroll">
          <table>
            <thead>
              <tr>
                <th>{i18n.t('admin.when')}</th>
                <th>{i18n.t('admin.who')}</th>
                <th>{i18n.t('admin.what')}</th>
                <th>{i18n.t('admin.subject')}</th>
                <th class="num">{i18n.t('admin.status')}</th>
                <th>{i18n.t('admin.from')}</th>
              </tr>
            </thead>
            <tbody>
              {page.items.map((a) => (
                <tr key={a.seq} data-testid="audit-row">
                  <td>{i18n.time(a.at)}</td>
                  <td>
                    <Text value={a.actor} />
                    {a.role !== null && <small> · {a.role}</small>}
                  </td>
                  <td class="mono">
                    <Text value={`${a.action} · ${a.method} ${a.path}`} />
                  </td>
                  <td class="mono">
                    <Text value={a.subject ?? ''} />
                  </td>
                  <td class={a.status < 400 ? 'num ok' : 'num bad'}>{a.status}</td>
                  <td class="mono">
                    <Text value={a.ip} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <Pager
        page={cursors.length}
        hasPrevious={cursors.length > 1}
        hasNext={Boolean(page?.nextCursor)}
        onPrevious={() => setCursors((c) => c.slice(0, -1))}
        onNext={() => {
          const next = page?.nextCursor;
          if (next) setCursors((c) => [...c, next]);
        }}
      />
    </div>
  );
}
