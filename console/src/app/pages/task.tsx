import type { JSX } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { API, call, canWrite, query, type ChannelResult, type Page, type TaskDetail, type TaskSummary } from '../api';
import { BarChart } from '../chart';
import { useSession } from '../context';
import type { I18n } from '../i18n';
import { useTaskEvents } from '../live';
import { visible } from '../text';
import { Confirm, ErrorLine, Progress, Text } from '../widgets';

const PAGE_SIZE = 100;
const FINISHED = new Set(['done', 'partial', 'failed', 'cancelled']);
/** How long the search box waits after the last keystroke before it asks the server. */
const SEARCH_DELAY_MS = 300;

export function TaskPage({ taskId }: { taskId: string }): JSX.Element {
  const { i18n, caller } = useSession();
  const [task, setTask] = useState<TaskDetail | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [version, setVersion] = useState(0);
  const [filter, setFilter] = useState<Filter>(() => (new URLSearchParams(window.location.search).get('status') === 'failed' ? 'failed' : ''));
  const [samples, setSamples] = useState<Sample[]>([]);
  const lastDetail = useRef(0);
  const id = encodeURIComponent(taskId);
  useEffect(() => setSamples([]), [taskId]);

  const loadDetail = async (): Promise<void> => {
    lastDetail.current = Date.now();
    try {
      const detail = await call<TaskDetail>('GET', `/tasks/${id}`);
      setTask(detail);
      setSamples((all) => addSample(all, detail));
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
      setSamples((all) => addSample(all, view));
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
  const chart = throughput(samples, task.createdAt);
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
      {chart && (
        <div class="card">
          <h2>{i18n.t('task.throughput')}</h2>
          <TaskThroughput chart={chart} i18n={i18n} />
          <p class="note">{i18n.t('task.throughputHelp')}</p>
        </div>
      )}
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
type SortKey = 'channel' | 'status' | 'bytes';
interface Sort {
  key: SortKey;
  descending: boolean;
}

/** Orders the rows of one page (the server pages in its scan order, so a sort cannot reach across pages). */
function sortRows(rows: ChannelResult[], sort: Sort | null, locale: string): ChannelResult[] {
  if (sort === null) return rows;
  const byChannel = (a: ChannelResult, b: ChannelResult): number => a.channel.localeCompare(b.channel, locale, { numeric: true });
  const compare: Record<SortKey, (a: ChannelResult, b: ChannelResult) => number> = {
    channel: byChannel,
    status: (a, b) => a.status.localeCompare(b.status) || byChannel(a, b),
    bytes: (a, b) => (a.bytes ?? -1) - (b.bytes ?? -1) || byChannel(a, b),
  };
  const sign = sort.descending ? -1 : 1;
  return [...rows].sort((a, b) => sign * compare[sort.key](a, b));
}

/**
 * The per-channel results a page at a time (the server pages by cursor), so 10 000 channels stay fast; the search box
 * asks the server for the channels whose id contains its text, together with the state filter.
 */
function ChannelTable({ taskId, version, finished, filter, onFilter }: { taskId: string; version: number; finished: number; filter: Filter; onFilter: (f: Filter) => void }): JSX.Element {
  const { i18n } = useSession();
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const [page, setPage] = useState<Page<ChannelResult> | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [search, setSearch] = useState(() => new URLSearchParams(window.location.search).get('q') ?? '');
  const [q, setQ] = useState(() => search.trim());
  const [sort, setSort] = useState<Sort | null>(null);
  const id = encodeURIComponent(taskId);
  const cursor = cursors[cursors.length - 1];
  const firstPage = cursors.length === 1;
  // The first page follows the progress (read again every ten finished channels); later pages stay as they were read.
  const refresh = `${version}:${firstPage ? Math.floor(finished / 10) : 0}`;

  useEffect(() => {
    let stale = false;
    call<Page<ChannelResult>>('GET', `/tasks/${id}/channels${query({ limit: PAGE_SIZE, cursor, status: filter, q })}`).then(
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
  }, [taskId, cursor, filter, q, refresh]);
  // A new filter starts again from its first page.
  useEffect(() => setCursors([undefined]), [filter]);
  // The search is sent a moment after the last keystroke, and starts again from the first page.
  useEffect(() => {
    const timer = setTimeout(() => {
      const text = search.trim();
      if (text === q) return;
      setQ(text);
      setCursors([undefined]);
    }, SEARCH_DELAY_MS);
    return () => clearTimeout(timer);
  }, [search]);
  // The address keeps the filter and the search, so a reload or a shared link shows the same rows.
  useEffect(() => window.history.replaceState(null, '', `${window.location.pathname}${query({ status: filter, q })}`), [filter, q]);

  const choose = (f: Filter): void => {
    onFilter(f);
    setCursors([undefined]);
  };
  const sortBy = (key: SortKey): void => setSort((s) => (s?.key === key ? { key, descending: !s.descending } : { key, descending: false }));
  const header = (key: SortKey, label: string, className?: string): JSX.Element => (
    <th class={className} aria-sort={sort?.key === key ? (sort.descending ? 'descending' : 'ascending') : 'none'}>
      <button type="button" class="sort" data-testid={`sort-${key}`} title={i18n.t('task.sortHelp')} onClick={() => sortBy(key)}>
        {label}
        {sort?.key === key ? (sort.descending ? ' ↓' : ' ↑') : ''}
      </button>
    </th>
  );
  const rows = page ? sortRows(page.items, sort, i18n.locale) : [];
  const empty = filter === 'failed' ? 'task.noFailed' : filter === 'stored' ? 'task.noStored' : 'task.noChannels';

  return (
    <div class="card">
      <h2>{i18n.t('task.channels')}</h2>
      <div class="actions" role="group">
        {(['', 'stored', 'failed'] as const).map((f) => (
          <button key={f} type="button" data-testid={`filter-${f === '' ? 'all' : f}`} class={filter === f ? 'primary' : 'secondary'} aria-pressed={filter === f} onClick={() => choose(f)}>
            {i18n.t(f === '' ? 'task.filterAll' : f === 'stored' ? 'task.filterStored' : 'task.filterFailed')}
          </button>
        ))}
        <label class="inline search">
          {i18n.t('task.search')}
          <input
            type="search"
            name="channel-search"
            data-testid="channel-search"
            maxLength={256}
            spellcheck={false}
            placeholder={i18n.t('task.searchPlaceholder')}
            value={search}
            onInput={(e) => setSearch(e.currentTarget.value)}
          />
        </label>
      </div>
      <ErrorLine error={error} />
      {page === null && error === null && <p class="loading">{i18n.t('app.loading')}</p>}
      {page && page.items.length === 0 && <p data-testid="no-channels">{q !== '' ? <Text value={i18n.t('task.noMatch', { q })} /> : i18n.t(empty)}</p>}
      {page && page.items.length > 0 && (
        <div class="scroll">
          <table data-testid="channel-table">
            <thead>
              <tr>
                {header('channel', i18n.t('task.channel'))}
                {header('status', i18n.t('task.status'))}
                {header('bytes', i18n.t('task.bytes'), 'num')}
                <th>{i18n.t('task.md5')}</th>
                <th>{i18n.t('task.reason')}</th>
                <th>{i18n.t('task.link')}</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <ChannelRow key={r.channel} taskId={taskId} result={r} />
              ))}
            </tbody>
          </table>
          {sort !== null && (
            <p class="note" data-testid="sort-note">
              {i18n.t('task.sortHelp')}
            </p>
          )}
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

/** done + failed at a moment (the browser's clock), from the detail and the live updates. */
interface Sample {
  t: number;
  n: number;
}
const MAX_SAMPLES = 2000;
const MAX_BARS = 30;

function addSample(samples: Sample[], view: TaskSummary): Sample[] {
  const n = view.done + view.failed;
  const over = FINISHED.has(view.status);
  const last = samples.at(-1);
  if (last === undefined) {
    // A task that finished before the page was opened ends when the server says it did.
    const ended = view.finishedAt !== undefined ? Date.parse(view.finishedAt) : Number.NaN;
    return [{ t: over && !Number.isNaN(ended) ? ended : Date.now(), n }];
  }
  if (over && n === last.n) return samples;
  const before = samples.at(-2);
  // A run of equal counts keeps only its first and its last sample.
  const kept = before !== undefined && before.n === last.n && last.n === n ? samples.slice(0, -1) : samples;
  const next = [...kept, { t: Math.max(Date.now(), last.t), n }];
  return next.length > MAX_SAMPLES ? next.filter((_, i) => i % 2 === 0 || i === next.length - 1) : next;
}

interface ThroughputChart {
  /** Milliseconds from the start of the chart to its end. */
  span: number;
  rates: number[];
}

/**
 * Channels per second over the task's life, in up to 30 equal slices: the count at each slice's edges is read off the
 * samples (straight lines between them; from the task's creation with 0 done to the first sample).
 */
function throughput(samples: Sample[], createdAt: string): ThroughputChart | null {
  const first = samples[0];
  if (first === undefined) return null;
  const created = Date.parse(createdAt);
  const points = !Number.isNaN(created) && created < first.t ? [{ t: created, n: 0 }, ...samples] : samples;
  const start = points[0]?.t ?? first.t;
  const span = (points.at(-1)?.t ?? start) - start;
  if (span < 1000) return null;
  const slices = Math.min(MAX_BARS, Math.floor(span / 1000));
  const width = span / slices;
  const countAt = (t: number): number => {
    let prev = points[0] ?? first;
    for (const p of points) {
      if (p.t >= t) return p.t === prev.t ? p.n : prev.n + ((p.n - prev.n) * (t - prev.t)) / (p.t - prev.t);
      prev = p;
    }
    return prev.n;
  };
  const rates = Array.from({ length: slices }, (_, i) => Math.max(0, (countAt(start + (i + 1) * width) - countAt(start + i * width)) / (width / 1000)));
  return { span, rates };
}

function TaskThroughput({ chart, i18n }: { chart: ThroughputChart; i18n: I18n }): JSX.Element {
  const seconds = chart.span / 1000;
  const slice = seconds / chart.rates.length;
  const total = chart.rates.reduce((sum, r) => sum + r * slice, 0);
  const bars = chart.rates.map((rate, i) => ({
    key: String(i),
    value: rate,
    title: i18n.t('task.throughputBar', { from: i18n.duration(i * slice), to: i18n.duration((i + 1) * slice), rate: i18n.rate(rate) }),
  }));
  return (
    <BarChart
      testId="task-throughput"
      bars={bars}
      summary={i18n.t('task.throughputSummary', { rate: i18n.rate(total / seconds), peak: i18n.rate(Math.max(0, ...chart.rates)), duration: i18n.duration(seconds) })}
      start={i18n.duration(0)}
      end={i18n.duration(seconds)}
      format={(n) => i18n.rate(n)}
    />
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
