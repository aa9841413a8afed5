import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { call, canWrite, type ParkedMessage, type ReplayOutcome } from '../api';
import { useSession } from '../context';
import { Confirm, ErrorLine, Pager, Text } from '../widgets';

/** The API peeks at most this many parked messages; the page shows them PAGE_SIZE at a time. */
const PEEK = 1000;
const PAGE_SIZE = 25;

type Replay = { kind: 'ids'; ids: string[] } | { kind: 'all' };

/** Messages that gave up (their reasons, where they came from, which attempt), and replaying one, some or all. */
export function ParkedPage(): JSX.Element {
  const { i18n, caller } = useSession();
  const writer = canWrite(caller.role);
  const [items, setItems] = useState<ParkedMessage[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [page, setPage] = useState(0);
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());
  const [open, setOpen] = useState<string | null>(null);
  const [replay, setReplay] = useState<Replay | null>(null);
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<ReplayOutcome | null>(null);

  const load = async (): Promise<void> => {
    try {
      const r = await call<{ items: ParkedMessage[] }>('GET', `/parked?limit=${PEEK}`);
      setItems(r.items);
      setSelected((s) => new Set([...s].filter((id) => r.items.some((m) => m.id === id))));
      setError(null);
    } catch (err) {
      setError(err);
    }
  };
  useEffect(() => void load(), []);

  const run = async (): Promise<void> => {
    if (replay === null) return;
    setBusy(true);
    try {
      const body = replay.kind === 'all' ? { all: true } : { ids: replay.ids };
      setOutcome(await call<ReplayOutcome>('POST', '/parked/replay', body));
      setSelected(new Set());
      await load();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
      setReplay(null);
    }
  };

  const toggle = (id: string): void =>
    setSelected((s) => {
      const next = new Set(s);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });

  const pages = items === null ? 1 : Math.max(1, Math.ceil(items.length / PAGE_SIZE));
  const shown = items?.slice(page * PAGE_SIZE, (page + 1) * PAGE_SIZE) ?? [];
  return (
    <section>
      <h1>{i18n.t('parked.title')}</h1>
      <p class="note">{i18n.t('parked.intro')}</p>
      <div class="actions">
        <button type="button" class="secondary" onClick={() => void load()}>
          {i18n.t('common.refresh')}
        </button>
        {writer && (
          <>
            <button type="button" class="primary" data-testid="replay-selected" disabled={selected.size === 0} onClick={() => setReplay({ kind: 'ids', ids: [...selected] })}>
              {i18n.t('parked.replaySelected', { count: selected.size })}
            </button>
            <button type="button" class="secondary" data-testid="replay-all" disabled={items === null || items.length === 0} onClick={() => setReplay({ kind: 'all' })}>
              {i18n.t('parked.replayAll')}
            </button>
          </>
        )}
      </div>
      {outcome && <Outcome outcome={outcome} />}
      <ErrorLine error={error} />
      {error !== null && <p class="note">{i18n.t('parked.errorHelp')}</p>}
      {items === null && error === null && <p class="loading">{i18n.t('app.loading')}</p>}
      {items !== null && items.length === 0 && <p data-testid="parked-empty">{i18n.t('parked.empty')}</p>}
      {items !== null && items.length >= PEEK && <p class="note">{i18n.t('parked.more', { count: PEEK })}</p>}
      {shown.length > 0 && (
        <div class="scroll">
          <table data-testid="parked-table">
            <thead>
              <tr>
                {writer && <th>{i18n.t('parked.select')}</th>}
                <th>{i18n.t('parked.id')}</th>
                <th>{i18n.t('parked.reason')}</th>
                <th>{i18n.t('parked.origin')}</th>
                <th class="num">{i18n.t('parked.attempt')}</th>
                <th>{i18n.t('parked.at')}</th>
                <th>{i18n.t('parked.body')}</th>
              </tr>
            </thead>
            <tbody>
              {shown.map((m) => (
                <tr key={m.id} data-testid="parked-row" class={selected.has(m.id) ? 'selected' : ''}>
                  {writer && (
                    <td>
                      <input type="checkbox" class="check" checked={selected.has(m.id)} aria-label={i18n.t('parked.selectOne', { id: m.id })} onChange={() => toggle(m.id)} />
                    </td>
                  )}
                  <td class="mono" data-testid="parked-id">
                    <Text value={m.id} />
                  </td>
                  <td data-testid="parked-reason">
                    <Text value={m.reason} />
                  </td>
                  <td class="mono">
                    <Text value={[m.originQueue, m.routingKey].filter((x) => x !== null).join(' · ')} />
                  </td>
                  <td class="num">{i18n.number(m.attempt)}</td>
                  <td>{m.parkedAt === null ? '' : i18n.time(m.parkedAt)}</td>
                  <td>
                    <button type="button" class="link" aria-expanded={open === m.id} onClick={() => setOpen(open === m.id ? null : m.id)}>
                      {i18n.t(open === m.id ? 'parked.hideBody' : 'parked.showBody')}
                    </button>
                    {open === m.id && (
                      <pre class="body" data-testid="parked-body">
                        <Text value={pretty(m.body)} />
                      </pre>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {items !== null && items.length > PAGE_SIZE && <Pager page={page + 1} hasPrevious={page > 0} hasNext={page + 1 < pages} onPrevious={() => setPage(page - 1)} onNext={() => setPage(page + 1)} />}
      <Confirm open={replay !== null} busy={busy} title={i18n.t('parked.confirmTitle')} onClose={() => setReplay(null)} onConfirm={() => void run()}>
        <p data-testid="replay-summary">
          {replay?.kind === 'all' ? i18n.t('parked.confirmAll', { count: items?.length ?? 0 }) : i18n.t('parked.confirmSome', { count: replay?.kind === 'ids' ? replay.ids.length : 0 })}
        </p>
        <p class="note">{i18n.t('parked.confirmNote')}</p>
      </Confirm>
    </section>
  );
}

function Outcome({ outcome }: { outcome: ReplayOutcome }): JSX.Element {
  const { i18n } = useSession();
  return (
    <div class="card" data-testid="replay-outcome" role="status">
      <p>{i18n.t('parked.outcome', { replayed: outcome.replayed.length, skipped: outcome.skipped.length, missing: outcome.missing.length })}</p>
      {outcome.replayed.length > 0 && (
        <>
          <h3>{i18n.t('parked.replayed')}</h3>
          <ul data-testid="replayed">
            {outcome.replayed.map((id) => (
              <li key={id} class="mono">
                <Text value={id} />
              </li>
            ))}
          </ul>
        </>
      )}
      {outcome.skipped.length > 0 && (
        <>
          <h3>{i18n.t('parked.skipped')}</h3>
          <ul data-testid="skipped">
            {outcome.skipped.map((s) => (
              <li key={s.id}>
                <span class="mono">
                  <Text value={s.id} />
                </span>
                {': '}
                <Text value={s.reason} />
              </li>
            ))}
          </ul>
        </>
      )}
      {outcome.missing.length > 0 && (
        <>
          <h3>{i18n.t('parked.missing')}</h3>
          <ul data-testid="missing">
            {outcome.missing.map((id) => (
              <li key={id} class="mono">
                <Text value={id} />
              </li>
            ))}
          </ul>
        </>
      )}
    </div>
  );
}

/** The body indented when it is JSON; as it came otherwise. */
function pretty(body: string): string {
  try {
    return JSON.stringify(JSON.parse(body), null, 2);
  } catch {
    return body;
  }
}
