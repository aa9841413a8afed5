import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { call, query, TASK_STATES, type Page, type TaskState, type TaskSummary } from '../api';
import { useSession } from '../context';
import { useTaskEvents } from '../live';
import { ErrorLine, Link, Text } from '../widgets';

const PAGE_SIZE = 50;
/** How long the creator box waits after the last keystroke before it asks the server. */
const FILTER_DELAY_MS = 300;

export function TasksPage(): JSX.Element {
  const { i18n } = useSession();
  const [state, setState] = useState<TaskState | ''>(() => {
    const s = new URLSearchParams(window.location.search).get('state');
    return (TASK_STATES as readonly string[]).includes(s ?? '') ? (s as TaskState) : '';
  });
  const [creatorText, setCreatorText] = useState(() => new URLSearchParams(window.location.search).get('creator') ?? '');
  const [creator, setCreator] = useState(() => creatorText.trim());
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const [page, setPage] = useState<Page<TaskSummary> | null>(null);
  const [error, setError] = useState<unknown>(null);
  const cursor = cursors[cursors.length - 1];

  useEffect(() => {
    let stale = false;
    call<Page<TaskSummary>>('GET', `/tasks${query({ limit: PAGE_SIZE, cursor, state, creator })}`).then(
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
  }, [state, creator, cursor]);
  // The creator is sent a moment after the last keystroke, and starts again from the first page.
  useEffect(() => {
    const timer = setTimeout(() => {
      const text = creatorText.trim();
      if (text === creator) return;
      setCreator(text);
      setCursors([undefined]);
    }, FILTER_DELAY_MS);
    return () => clearTimeout(timer);
  }, [creatorText]);
  // The address keeps both filters, so a reload or a shared link shows the same tasks.
  useEffect(() => window.history.replaceState(null, '', `/tasks${query({ state, creator })}`), [state, creator]);

  // Rows on the page follow every task that changes.
  useTaskEvents<TaskSummary>('/events', (view) => setPage((p) => (p ? { ...p, items: p.items.map((t) => (t.taskId === view.taskId ? { ...t, ...view } : t)) } : p)));

  const choose = (s: TaskState | ''): void => {
    setState(s);
    setCursors([undefined]);
  };

  return (
    <section>
      <h1>{i18n.t('tasks.title')}</h1>
      <div class="filters">
        <label class="inline">
          {i18n.t('tasks.state')}
          <select name="state" value={state} onChange={(e) => choose(e.currentTarget.value as TaskState | '')}>
            <option value="">{i18n.t('tasks.all')}</option>
            {TASK_STATES.map((s) => (
              <option key={s} value={s}>
                {i18n.t(`state.${s}`)}
              </option>
            ))}
          </select>
        </label>
        <label class="inline">
          {i18n.t('tasks.creator')}
          <input
            type="search"
            name="creator"
            data-testid="creator-filter"
            maxLength={64}
            spellcheck={false}
            autocomplete="off"
            placeholder={i18n.t('tasks.creatorPlaceholder')}
            value={creatorText}
            onInput={(e) => setCreatorText(e.currentTarget.value)}
          />
        </label>
      </div>
      <ErrorLine error={error} />
      {page && page.items.length === 0 && <p>{i18n.t('tasks.empty')}</p>}
      {page && page.items.length > 0 && (
        <div class="scroll">
          <table data-testid="task-list">
            <thead>
              <tr>
                <th>{i18n.t('tasks.id')}</th>
                <th>{i18n.t('tasks.state')}</th>
                <th>{i18n.t('tasks.app')}</th>
                <th>{i18n.t('tasks.progress')}</th>
                <th>{i18n.t('tasks.creator')}</th>
                <th>{i18n.t('tasks.created')}</th>
              </tr>
            </thead>
            <tbody>
              {page.items.map((t) => (
                <tr key={t.taskId}>
                  <td class="mono">
                    <Link href={`/tasks/${encodeURIComponent(t.taskId)}`}>
                      <Text value={t.taskId} />
                    </Link>
                  </td>
                  <td>
                    <span class={`state state-${t.status}`}>{i18n.t(`state.${t.status}`)}</span>
                  </td>
                  <td>
                    <Text value={t.package ?? ''} />
                  </td>
                  <td class="num">{`${i18n.percent(t.progress)} (${i18n.number(t.done)} / ${i18n.number(t.total)})`}</td>
                  <td>
                    <Text value={t.creator ?? ''} />
                  </td>
                  <td>{i18n.time(t.createdAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <div class="actions pager">
        <button type="button" class="secondary" disabled={cursors.length === 1} onClick={() => setCursors((c) => c.slice(0, -1))}>
          {i18n.t('common.previous')}
        </button>
        <span>{i18n.t('common.page', { n: cursors.length })}</span>
        <button
          type="button"
          class="secondary"
          disabled={!page?.nextCursor}
          onClick={() => {
            const next = page?.nextCursor;
            if (next) setCursors((c) => [...c, next]);
          }}
        >
          {i18n.t('common.next')}
        </button>
      </div>
    </section>
  );
}
