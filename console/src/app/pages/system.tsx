import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { call } from '../api';
import { useSession } from '../context';
import { ErrorLine, Text } from '../widgets';

/** The system overview as the API reports it (queues, services, stalled tasks, throughput), shown as plain text. */
export function SystemPage(): JSX.Element {
  const { i18n } = useSession();
  const [overview, setOverview] = useState<unknown>(null);
  const [error, setError] = useState<unknown>(null);
  const load = (): void => {
    call<unknown>('GET', '/system').then((o) => {
      setOverview(o);
      setError(null);
    }, setError);
  };
  useEffect(load, []);
  return (
    <section>
      <h1>{i18n.t('system.title')}</h1>
      <button type="button" class="secondary" onClick={load}>
        {i18n.t('common.refresh')}
      </button>
      <ErrorLine error={error} />
      {overview !== null && (
        <pre class="card mono" data-testid="system">
          <Text value={JSON.stringify(overview, null, 2)} />
        </pre>
      )}
    </section>
  );
}
