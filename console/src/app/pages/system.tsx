import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { call, type SystemOverview } from '../api';
import { BarChart } from '../chart';
import { useSession } from '../context';
import type { I18n } from '../i18n';
import { ErrorLine, Link, Text } from '../widgets';

const REFRESH_MS = 10_000;

/** The engines as the API sees them: services and their readiness, queues, Redis and the broker, stalled tasks, throughput. */
export function SystemPage(): JSX.Element {
  const { i18n } = useSession();
  const [overview, setOverview] = useState<SystemOverview | null>(null);
  const [error, setError] = useState<unknown>(null);
  const load = async (): Promise<void> => {
    try {
      setOverview(await call<SystemOverview>('GET', '/system'));
      setError(null);
    } catch (err) {
      setError(err);
    }
  };
  useEffect(() => {
    void load();
    const timer = setInterval(() => void load(), REFRESH_MS);
    return () => clearInterval(timer);
  }, []);

  return (
    <section>
      <h1>{i18n.t('system.title')}</h1>
      <div class="actions">
        <button type="button" class="secondary" onClick={() => void load()}>
          {i18n.t('common.refresh')}
        </button>
        <span class="note">{i18n.t('system.auto', { seconds: REFRESH_MS / 1000 })}</span>
      </div>
      <ErrorLine error={error} />
      {error !== null && <p class="note">{i18n.t('system.errorHelp')}</p>}
      {overview === null && error === null && <p class="loading">{i18n.t('app.loading')}</p>}
      {overview && (
        <div data-testid="system">
          <div class="grid">
            <div class="card facts">
              <h2>{i18n.t('system.backbone')}</h2>
              <dl>
                <dt>{i18n.t('system.broker')}</dt>
                <dd data-testid="broker-state">
                  <StateWord state={overview.broker.state} /> <Text value={overview.broker.node ?? ''} />
                </dd>
                <dt>{i18n.t('system.redis')}</dt>
                <dd data-testid="redis-state">
                  <StateWord state={overview.redis.state} />
                </dd>
              </dl>
            </div>
            <div class="card">
              <h2>{i18n.t('system.throughput')}</h2>
              <Throughput points={overview.throughput} i18n={i18n} />
            </div>
          </div>
          <div class="card">
            <h2>{i18n.t('system.services')}</h2>
            {overview.services.length === 0 ? (
              <p>{i18n.t('system.noServices')}</p>
            ) : (
              <div class="scroll">
                <table data-testid="services">
                  <thead>
                    <tr>
                      <th>{i18n.t('system.service')}</th>
                      <th>{i18n.t('system.ready')}</th>
                      <th>{i18n.t('system.queue')}</th>
                      <th class="num">{i18n.t('system.consumers')}</th>
                    </tr>
                  </thead>
                  <tbody>
                    {overview.services.map((s) => (
                      <tr key={`${s.service}:${s.queue}`}>
                        <td>
                          <Text value={s.service} />
                        </td>
                        <td class={s.ready ? 'ok' : 'bad'}>{i18n.t(s.ready ? 'system.isReady' : 'system.notReady')}</td>
                        <td class="mono">
                          <Text value={s.queue} />
                        </td>
                        <td class="num">{s.consumers === null ? '—' : i18n.number(s.consumers)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
            {overview.services.some((s) => !s.ready) && <p class="note">{i18n.t('system.notReadyHelp')}</p>}
          </div>
          <div class="card">
            <h2>{i18n.t('system.queues')}</h2>
            <div class="scroll">
              <table data-testid="queues">
                <thead>
                  <tr>
                    <th>{i18n.t('system.queue')}</th>
                    <th class="num">{i18n.t('system.depth')}</th>
                    <th class="num">{i18n.t('system.consumers')}</th>
                  </tr>
                </thead>
                <tbody>
                  {overview.queues.map((q) => (
                    <tr key={q.queue}>
                      <td class="mono">
                        <Text value={q.queue} />
                        {q.error !== undefined && (
                          <div class="error">
                            <Text value={q.error} />
                          </div>
                        )}
                      </td>
                      <td class="num">{q.messages === null ? '—' : i18n.number(q.messages)}</td>
                      <td class="num">{q.consumers === null ? '—' : i18n.number(q.consumers)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </div>
          <div class="card">
            <h2>{i18n.t('system.stalled')}</h2>
            {overview.stalledTasks.length === 0 ? (
              <p data-testid="no-stalled">{i18n.t('system.noStalled')}</p>
            ) : (
              <>
                <p class="note">{i18n.t('system.stalledHelp')}</p>
                <ul data-testid="stalled">
                  {overview.stalledTasks.map((s) => (
                    <li key={s.taskId}>
                      <Link href={`/tasks/${encodeURIComponent(s.taskId)}`} class="mono">
                        <Text value={s.taskId} />
                      </Link>{' '}
                      · {i18n.t('system.stalledAt', { time: i18n.time(s.stalledAt) })}
                    </li>
                  ))}
                </ul>
              </>
            )}
          </div>
        </div>
      )}
    </section>
  );
}

function StateWord({ state }: { state: string }): JSX.Element {
  const { i18n } = useSession();
  const good = /^(up|ok|ready|connected|running|open)$/i.test(state);
  return (
    <span class={good ? 'ok' : 'bad'}>
      {i18n.t(good ? 'system.up' : 'system.down')} (<Text value={state} />)
    </span>
  );
}

/** Channels stored per minute over the last hour, as a small bar chart. */
function Throughput({ points, i18n }: { points: SystemOverview['throughput']; i18n: I18n }): JSX.Element {
  const total = points.reduce((n, p) => n + p.stored, 0);
  const peak = Math.max(0, ...points.map((p) => p.stored));
  const clock = (iso: string): string => {
    const d = new Date(iso);
    return Number.isNaN(d.getTime()) ? '' : d.toLocaleTimeString(i18n.locale, { hour: '2-digit', minute: '2-digit' });
  };
  const bars = points.map((p) => ({ key: p.minute, value: p.stored, title: `${clock(p.minute)} · ${i18n.number(p.stored)}` }));
  return (
    <BarChart
      testId="throughput"
      bars={bars}
      summary={i18n.t('system.throughputSummary', { total, peak })}
      start={clock(points[0]?.minute ?? '')}
      end={clock(points.at(-1)?.minute ?? '')}
      format={(n) => i18n.number(n)}
    />
  );
}
