import type { JSX } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { API, call, canWrite, query, type ChannelResult, type Page, type TaskDetail, type TaskSummary } from '../api';
import { useSession } from '../context';
import { useTaskEvents } from '../live';
import { visible } from '../text';
import { Confirm, ErrorLine, Progress, Text } from '../widgets';

const PAGE_SIZE = 100;
const FINISHED = new Set(['done', 'partial', 'failed', 'cancelled']);

export function TaskPage({ taskId }: { taskId: string }): JSX.Element {
  const { i18n, caller } = useSession();
  const [task, setTask] = useState<TaskDetail | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [version, setVersion] = useState(0);
  const [filter, setFilter] = useState<Filter>(() => (new URLSearchParams(window.location.search).get('status') === 'failed' ? 'failed' : ''));
  const lastDetail = useRef(0);
  const id = encodeURIComponent(taskId);

  const loadDetail = async (): Promise<void> => {
    lastDetail.current = Date.now();
    try {
      setTask(await call<TaskDetail>('GET', `/tasks/${id}`));
      setError(null);
    } catch (err) {
      setError(err);
    }
  };
  useEffect(() => void loadDetail(), [taskId]);

  const live = task !== null && !FINISHED.has(task.status);
  useTaskEvents<TaskSummary>(
    live ? `/tasks/${id}/events` : null,
    (view) => {
      setTask((t) => (t ? { ...t, ...view } : t));
      // Throughput, ETA and failure reasons come with the detail; read it again at most every two seconds.
      if (Date.now() - lastDetail.current > 2000) void loadDetail();
    },
    () => {
      void loadDetail();
      setVersion((v) => v + 1);
    },
  );

  const cancel = async (): Promise<void> => {
    setBusy(true);
    try {
      await call('POST', `/tasks/${id}/cancel`);
      await loadDetail();
      setVersion((v) => v + 1);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
      setConfirming(false);
    }
  };

  if (task === null) {
    return (
      <section>
        <h1>
          <Text value={i18n.t('task.title', { id: taskId })} />
        </h1>
        {error === null ? <p>{i18n.t('app.loading')}</p> : <ErrorLine error={error} />}
      </section>
    );
  }
  const finished = task.done + task.failed;
  return (
    <section>
      <h1>
        <Text value={i18n.t('task.title', { id: task.taskId })} />
      </h1>
      <div class="card">
        <p>
          <span class={`state state-${task.status}`} data-testid="task-state">
            {i18n.t(`state.${task.status}`)}
          </span>{' '}
          {live && <span class="live">{i18n.t('task.live')}</span>}{' '}
          <Text value={[task.package, task.versionName, task.destination].filter((x) => x !== undefined).join(' · ')} />
        </p>
        <Progress value={task.progress} label={i18n.percent(task.progress)} />
        <p data-testid="task-counts">{i18n.t('task.counts', { done: task.done, total: task.total, failed: task.failed, kept: task.kept })}</p>
        <p>
          {i18n.t('task.rate', { rate: i18n.rate(task.channelsPerSecond) })}
          {task.etaSeconds !== null && live && <> · {i18n.t('task.eta', { eta: i18n.duration(task.etaSeconds) })}</>}
          {task.finishedAt !== undefined && <> · {i18n.t('task.finishedAt', { time: i18n.time(task.finishedAt) })}</>}
        </p>
        {task.error && (
          <p class="error">
            <Text value={`${task.error.code}: ${task.error.message}`} />
          </p>
        )}
        <div class="actions">
          <span>{i18n.t('task.export')}:</span>
          <a class="button secondary" href={`${API}/tasks/${id}/export${query({ format: 'csv' })}`} download={`${task.taskId}.csv`}>
            {i18n.t('task.exportCsv')}
          </a>
          <a class="button secondary" href={`${API}/tasks/${id}/export${query({ format: 'json' })}`} download={`${task.taskId}.json`}>
            {i18n.t('task.exportJson')}
          </a>
          {canWrite(caller.role) && live && (
            <button type="button" class="danger" data-testid="cancel-task" onClick={() => setConfirming(true)}>
              {i18n.t('task.cancel')}
            </button>
          )}
        </div>
      </div>
      <ErrorLine error={error} />
      {task.failureReasons.length > 0 && (
        <div class="card">
          <h2>{i18n.t('task.reasons')}</h2>
          <p class="note">{i18n.t('task.reasonsHelp')}</p>
          <ul data-testid="failure-reasons">
            {task.failureReasons.map((r) => (
              <li key={`${r.code}:${r.message}`}>
                <strong>{r.code}</strong> · {i18n.t('task.reasonCount', { count: r.channels })} · <Text value={r.message} /> ·{' '}
                <Text value={i18n.t('task.example', { channel: r.example })} />
              </li>
            ))}
          </ul>
          {filter !== 'failed' && (
            <button type="button" class="secondary" data-testid="show-failed" onClick={() => setFilter('failed')}>
              {i18n.t('task.showFailed', { count: task.failed })}
            </button>
          )}
        </div>
      )}
      <ChannelTable taskId={task.taskId} version={version} finished={finished} filter={filter} onFilter={setFilter} />
      <Confirm open={confirming} busy={busy} title={i18n.t('task.cancelTitle')} onClose={() => setConfirming(false)} onConfirm={() => void cancel()}>
        <p>{i18n.t('task.cancelBody', { left: task.total - finished })}</p>
      </Confirm>
    </section>
  );
}

type Filter = '' | 'stored' | 'failed';

/** The per-channel results a page at a time (the server pages by cursor), so 10 000 channels stay fast. */
function ChannelTable({ taskId, version, finished, filter, onFilter }: { taskId: string; version: number; finished: number; filter: Filter; onFilter: (f: Filter) => void }): JSX.Element {
  const { i18n } = useSession();
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const [page, setPage] = useState<Page<ChannelResult> | null>(null);
  const [error, setError] = useState<unknown>(null);
  const id = encodeURIComponent(taskId);
  const cursor = cursors[cursors.length - 1];
  const firstPage = cursors.length === 1;
  // The first page follows the progress (read again every ten finished channels); later pages stay as they were read.
  const refresh = `${version}:${firstPage ? Math.floor(finished / 10) : 0}`;

  useEffect(() => {
    let stale = false;
    call<Page<ChannelResult>>('GET', `/tasks/${id}/channels${query({ limit: PAGE_SIZE, cursor, status: filter })}`).then(
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
  }, [taskId, cursor, filter, refresh]);
  // A new filter starts again from its first page.
  useEffect(() => setCursors([undefined]), [filter]);

  const choose = (f: Filter): void => {
    onFilter(f);
    setCursors([undefined]);
    window.history.replaceState(null, '', `${window.location.pathname}${query({ status: f })}`);
  };

  return (
    <div class="card">
      <h2>{i18n.t('task.channels')}</h2>
      <div class="actions" role="group">
        {(['', 'stored', 'failed'] as const).map((f) => (
          <button key={f} type="button" data-testid={`filter-${f === '' ? 'all' : f}`} class={filter === f ? 'primary' : 'secondary'} aria-pressed={filter === f} onClick={() => choose(f)}>
            {i18n.t(f === '' ? 'task.filterAll' : f === 'stored' ? 'task.filterStored' : 'task.filterFailed')}
          </button>
        ))}
      </div>
      <ErrorLine error={error} />
      {page === null && error === null && <p class="loading">{i18n.t('app.loading')}</p>}
      {page && page.items.length === 0 && <p data-testid="no-channels">{i18n.t(filter === 'failed' ? 'task.noFailed' : filter === 'stored' ? 'task.noStored' : 'task.noChannels')}</p>}
      {page && page.items.length > 0 && (
        <div class="scroll">
          <table data-testid="channel-table">
            <thead>
              <tr>
                <th>{i18n.t('task.channel')}</th>
                <th>{i18n.t('task.status')}</th>
                <th class="num">{i18n.t('task.bytes')}</th>
                <th>{i18n.t('task.md5')}</th>
                <th>{i18n.t('task.reason')}</th>
                <th>{i18n.t('task.link')}</th>
              </tr>
            </thead>
            <tbody>
              {page.items.map((r) => (
                <ChannelRow key={r.channel} taskId={taskId} result={r} />
              ))}
            </tbody>
          </table>
        </div>
      )}
      <div class="actions pager">
        <button type="button" class="secondary" disabled={firstPage} onClick={() => setCursors((c) => c.slice(0, -1))}>
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
    </div>
  );
}

function ChannelRow({ taskId, result }: { taskId: string; result: ChannelResult }): JSX.Element {
  const { i18n } = useSession();
  const [link, setLink] = useState<{ url: string; expiresAt: string } | null>(null);
  const [qr, setQr] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);

  const fetchLink = async (): Promise<{ url: string; expiresAt: string }> => {
    const l = await call<{ url: string; expiresAt: string }>('GET', `/tasks/${encodeURIComponent(taskId)}/channels/${encodeURIComponent(result.channel)}/link`);
    setLink(l);
    return l;
  };
  const copy = async (): Promise<void> => {
    try {
      const l = await fetchLink();
      await navigator.clipboard.writeText(l.url).catch(() => undefined);
    } catch (err) {
      setError(err);
    }
  };
  const showQr = async (): Promise<void> => {
    try {
      const l = link ?? (await fetchLink());
      // The QR library is loaded only when someone asks for a code.
      const { toDataURL } = await import('qrcode');
      // Four pixels a module and the standard quiet zone, so a phone (or a decoder) reads long presigned links too.
      setQr(await toDataURL(l.url, { margin: 4, scale: 4, errorCorrectionLevel: 'M' }));
    } catch (err) {
      setError(err);
    }
  };

  return (
    <tr data-testid="channel-row">
      <td class="mono">
        <Text value={result.channel} />
      </td>
      <td class={result.status === 'stored' ? 'ok' : 'bad'}>{i18n.t(result.status === 'stored' ? 'task.stored' : 'task.failedChannel')}</td>
      <td class="num">{result.bytes !== undefined ? i18n.bytes(result.bytes) : ''}</td>
      <td class="mono">{result.md5 ?? ''}</td>
      <td>
        <Text value={result.reason ? `${result.reason.code}: ${result.reason.message}` : ''} />
      </td>
      <td>
        {result.status === 'stored' && (
          <>
            <button type="button" class="link" data-testid="copy-link" onClick={() => void copy()}>
              {i18n.t('task.copyLink')}
            </button>{' '}
            <button type="button" class="link" data-testid="show-qr" onClick={() => void showQr()}>
              {i18n.t('task.showQr')}
            </button>
          </>
        )}
        {link && (
          <div class="link-out">
            <input readOnly value={link.url} aria-label={i18n.t('task.link')} data-testid="link-url" onFocus={(e) => e.currentTarget.select()} />
            <small>{i18n.t('task.copied', { time: i18n.time(link.expiresAt) })}</small>{' '}
            <a href={link.url} download rel="noreferrer" data-testid="download">
              {i18n.t('task.download')}
            </a>
          </div>
        )}
        {qr !== null && <img class="qr" data-testid="qr" src={qr} alt={visible(i18n.t('task.qrAlt', { channel: result.channel }))} />}
        <ErrorLine error={error} />
      </td>
    </tr>
  );
}
