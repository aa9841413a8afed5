import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError, call, canWrite, type ChannelList, type ChannelListSummary, type LineProblem, type Page } from '../api';
import { useSession } from '../context';
import { ErrorLine, Pager, Text } from '../widgets';

type Verdict = { kind: 'ok'; count: number } | { kind: 'errors'; problems: LineProblem[] } | { kind: 'saved'; name: string; count: number };

export function ListsPage(): JSX.Element {
  const { i18n, caller } = useSession();
  const writer = canWrite(caller.role);
  const [lists, setLists] = useState<ChannelListSummary[]>([]);
  const [name, setName] = useState('');
  const [text, setText] = useState('');
  const [verdict, setVerdict] = useState<Verdict | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [viewing, setViewing] = useState<string | null>(null);

  const load = async (): Promise<void> => {
    try {
      setLists((await call<Page<ChannelListSummary>>('GET', '/channel-lists?limit=100')).items);
    } catch (err) {
      setError(err);
    }
  };
  useEffect(() => void load(), []);

  /** Sends the list to `path`; per-line problems become the verdict, anything else an error. */
  const send = async (path: '/channel-lists/check' | '/channel-lists', listName: string, listText: string): Promise<void> => {
    setBusy(true);
    setError(null);
    try {
      if (path === '/channel-lists/check') {
        const r = await call<{ count: number }>('POST', path, { name: listName || 'check', text: listText });
        setVerdict({ kind: 'ok', count: r.count });
      } else {
        const r = await call<{ name: string; channels: unknown[] }>('POST', path, { name: listName, text: listText });
        setVerdict({ kind: 'saved', name: r.name, count: r.channels.length });
        void load();
      }
    } catch (err) {
      if (err instanceof ApiError && err.errors.length > 0) setVerdict({ kind: 'errors', problems: err.errors.map((e) => (typeof e === 'string' ? { message: e } : e)) });
      else {
        setVerdict(null);
        setError(err);
      }
    } finally {
      setBusy(false);
    }
  };

  const importFile = async (file: File): Promise<void> => {
    const content = await file.text();
    const listName = name || file.name.replace(/\.[^.]*$/, '');
    setName(listName);
    setText(content);
    await send('/channel-lists/check', listName, content);
  };

  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  return (
    <section>
      <h1>{i18n.t('lists.title')}</h1>
      <form
        class="card"
        onSubmit={(e) => {
          e.preventDefault();
          void send('/channel-lists/check', name, text);
        }}
      >
        <label>
          {i18n.t('lists.name')}
          <input name="list-name" value={name} maxLength={100} onInput={(e) => setName(e.currentTarget.value)} />
        </label>
        <label>
          {i18n.t('lists.text')}
          <textarea name="list-text" rows={10} spellcheck={false} value={text} onInput={(e) => setText(e.currentTarget.value)} />
        </label>
        <label class="file">
          {i18n.t('lists.import')}
          <input
            type="file"
            accept=".txt,.csv,text/plain"
            data-testid="list-file"
            onChange={(e) => {
              const file = e.currentTarget.files?.[0];
              if (file) void importFile(file);
              e.currentTarget.value = '';
            }}
          />
        </label>
        <div class="actions">
          <button type="submit" class="secondary" disabled={busy || text.trim() === ''}>
            {i18n.t('lists.check')}
          </button>
          {writer && (
            <button
              type="button"
              class="primary"
              data-testid="save-list"
              disabled={busy || text.trim() === ''}
              onClick={() => (name.trim() === '' ? setError(new Error(i18n.t('lists.nameNeeded'))) : void send('/channel-lists', name, text))}
            >
              {i18n.t('lists.save')}
            </button>
          )}
        </div>
      </form>
      <ErrorLine error={error} />
      {verdict?.kind === 'ok' && <p class="ok" data-testid="verdict">{i18n.t('lists.ok', { count: verdict.count })}</p>}
      {verdict?.kind === 'saved' && (
        <p class="ok" data-testid="verdict">
          <Text value={i18n.t('lists.saved', { name: verdict.name, count: verdict.count })} />
        </p>
      )}
      {verdict?.kind === 'errors' && (
        <div class="card" data-testid="list-errors">
          <p class="error">{i18n.t('lists.errors', { count: verdict.problems.length })}</p>
          <div class="scroll">
            <table>
              <thead>
                <tr>
                  <th class="num">{i18n.t('lists.line')}</th>
                  <th>{i18n.t('lists.content')}</th>
                  <th>{i18n.t('lists.problem')}</th>
                </tr>
              </thead>
              <tbody>
                {verdict.problems.map((p, i) => (
                  <tr key={i} data-testid="list-error">
                    <td class="num">{p.line !== undefined ? i18n.number(p.line) : p.index !== undefined ? `#${i18n.number(p.index)}` : ''}</td>
                    <td class="mono">
                      <Text value={p.line !== undefined ? (lines[p.line - 1] ?? '') : ''} />
                    </td>
                    <td>
                      <Text value={p.message} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </div>
      )}
      {lists.length === 0 ? (
        <p>{i18n.t('lists.empty')}</p>
      ) : (
        <div class="scroll">
          <table>
            <thead>
              <tr>
                <th>{i18n.t('lists.name')}</th>
                <th class="num">{i18n.t('lists.count')}</th>
                <th>{i18n.t('lists.createdBy')}</th>
                <th>{i18n.t('lists.updated')}</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {lists.map((l) => (
                <tr key={l.id}>
                  <td>
                    <Text value={l.name} />
                  </td>
                  <td class="num">{i18n.number(l.count)}</td>
                  <td>
                    <Text value={l.createdBy} />
                  </td>
                  <td>{i18n.time(l.updatedAt)}</td>
                  <td>
                    <button type="button" class="link" data-testid="view-list" aria-pressed={viewing === l.id} onClick={() => setViewing(viewing === l.id ? null : l.id)}>
                      {i18n.t(viewing === l.id ? 'lists.hide' : 'lists.view')}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {viewing !== null && <ListView key={viewing} id={viewing} onClose={() => setViewing(null)} />}
    </section>
  );
}

const VIEW_PAGE = 100;
/** More distinct extras keys than this are counted, not shown as columns. */
const MAX_EXTRA_COLUMNS = 30;

/** One list's channels a page at a time, with a column for each extras key found in the list (values as text). */
function ListView({ id, onClose }: { id: string; onClose: () => void }): JSX.Element {
  const { i18n } = useSession();
  const [list, setList] = useState<ChannelList | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [page, setPage] = useState(1);
  useEffect(() => {
    let stale = false;
    call<ChannelList>('GET', `/channel-lists/${encodeURIComponent(id)}`).then(
      (l) => !stale && setList(l),
      (err: unknown) => !stale && setError(err),
    );
    return () => {
      stale = true;
    };
  }, [id]);

  if (list === null) {
    return <div class="card">{error === null ? <p class="loading">{i18n.t('app.loading')}</p> : <ErrorLine error={error} />}</div>;
  }
  // The keys in the order they first appear, so the columns read like the file.
  const keys = [...new Set(list.channels.flatMap((c) => Object.keys(c.extras ?? {})))];
  const shown = keys.slice(0, MAX_EXTRA_COLUMNS);
  const pages = Math.max(1, Math.ceil(list.channels.length / VIEW_PAGE));
  const rows = list.channels.slice((page - 1) * VIEW_PAGE, page * VIEW_PAGE);
  return (
    <div class="card" data-testid="list-view">
      <h2>
        <Text value={i18n.t('lists.viewTitle', { name: list.name, count: list.channels.length })} />
      </h2>
      <p class="note">{keys.length === 0 ? i18n.t('lists.noExtras') : i18n.t('lists.extrasHelp', { count: keys.length })}</p>
      {keys.length > shown.length && <p class="note">{i18n.t('lists.moreExtras', { count: keys.length - shown.length })}</p>}
      <div class="scroll">
        <table data-testid="list-channels">
          <thead>
            <tr>
              <th class="num">#</th>
              <th>{i18n.t('lists.channel')}</th>
              {shown.map((k) => (
                <th key={k} data-testid="extra-column">
                  <Text value={k} />
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.map((c, i) => (
              <tr key={c.id} data-testid="list-channel">
                <td class="num">{i18n.number((page - 1) * VIEW_PAGE + i + 1)}</td>
                <td class="mono">
                  <Text value={c.id} />
                </td>
                {shown.map((k) => (
                  <td key={k}>
                    <Text value={c.extras?.[k] ?? ''} />
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <div class="actions">
        <button type="button" class="secondary" onClick={onClose}>
          {i18n.t('common.close')}
        </button>
      </div>
      {pages > 1 && <Pager page={page} hasPrevious={page > 1} hasNext={page < pages} onPrevious={() => setPage((p) => p - 1)} onNext={() => setPage((p) => p + 1)} />}
    </div>
  );
}
