import type { JSX } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, call, MAX_SUBSCRIPTIONS, NOTIFY_FORMATS, NOTIFY_LEVELS, type ChannelListSummary, type Destination, type Master, type NotifySubscription, type Page, type Preview } from '../api';
import { useSession } from '../context';
import { visible } from '../text';
import { Confirm, ErrorLine, errorText, Text } from '../widgets';

const DEFAULT_NAMING = '{package}-{channel}.apk';

export function NewTaskPage(): JSX.Element {
  const { i18n, navigate } = useSession();
  const [masters, setMasters] = useState<Master[]>([]);
  const [lists, setLists] = useState<ChannelListSummary[]>([]);
  const [destinations, setDestinations] = useState<Destination[]>([]);
  const [master, setMaster] = useState('');
  const [list, setList] = useState('');
  const [format, setFormat] = useState('auto');
  const [naming, setNaming] = useState(DEFAULT_NAMING);
  const [destination, setDestination] = useState('');
  const [preview, setPreview] = useState<Preview | null>(null);
  const [previewError, setPreviewError] = useState<unknown>(null);
  const [error, setError] = useState<unknown>(null);
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  // Each row keeps a key of its own, so a removed row takes its test result with it.
  const [subscriptions, setSubscriptions] = useState<(NotifySubscription & { key: number })[]>([]);
  const nextKey = useRef(0);

  useEffect(() => {
    Promise.all([
      call<Page<Master>>('GET', '/masters?limit=100'),
      call<Page<ChannelListSummary>>('GET', '/channel-lists?limit=100'),
      call<Destination[] | Page<Destination>>('GET', '/destinations'),
    ]).then(([m, l, d]) => {
      setMasters(m.items);
      setLists(l.items);
      const dests = Array.isArray(d) ? d : d.items;
      setDestinations(dests);
      if (dests.length === 1 && dests[0]) setDestination(dests[0].name);
    }, setError);
  }, []);

  const notify: NotifySubscription[] = subscriptions.filter((s) => s.url.trim() !== '').map((s) => ({ url: s.url.trim(), format: s.format, level: s.level }));
  const order = {
    master,
    channelList: list,
    destination,
    ...(format !== 'auto' ? { format } : {}),
    ...(naming.trim() !== '' ? { naming } : {}),
    ...(notify.length > 0 ? { notify } : {}),
  };
  const editSubscription = (i: number, change: Partial<NotifySubscription>): void => setSubscriptions((all) => all.map((s, j) => (j === i ? { ...s, ...change } : s)));
  const ready = master !== '' && list !== '' && destination !== '';

  // The live preview follows every change, a moment after the last keystroke.
  useEffect(() => {
    if (!ready) {
      setPreview(null);
      return;
    }
    let stale = false;
    const timer = setTimeout(() => {
      call<Preview>('POST', '/tasks/preview', order).then(
        (p) => {
          if (stale) return;
          setPreview(p);
          setPreviewError(null);
        },
        (err: unknown) => {
          if (stale) return;
          setPreview(null);
          setPreviewError(err);
        },
      );
    }, 250);
    return () => {
      stale = true;
      clearTimeout(timer);
    };
  }, [master, list, format, naming, destination, JSON.stringify(notify)]);

  const chosen = masters.find((m) => m.id === master);
  const create = async (): Promise<void> => {
    setBusy(true);
    try {
      const task = await call<{ taskId: string }>('POST', '/tasks', order);
      setConfirming(false);
      navigate(`/tasks/${encodeURIComponent(task.taskId)}`);
    } catch (err) {
      setConfirming(false);
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section>
      <h1>{i18n.t('newTask.title')}</h1>
      <form
        class="card grid"
        onSubmit={(e) => {
          e.preventDefault();
          if (preview) setConfirming(true);
        }}
      >
        <label>
          {i18n.t('newTask.master')}
          <select name="master" value={master} onChange={(e) => setMaster(e.currentTarget.value)}>
            <option value="">{i18n.t('newTask.choose')}</option>
            {masters.map((m) => (
              <option key={m.id} value={m.id}>
                {visible(`${m.label ?? m.package} · ${m.versionName ?? ''} · ${m.filename ?? m.id}`)}
              </option>
            ))}
          </select>
        </label>
        <label>
          {i18n.t('newTask.list')}
          <select name="list" value={list} onChange={(e) => setList(e.currentTarget.value)}>
            <option value="">{i18n.t('newTask.choose')}</option>
            {lists.map((l) => (
              <option key={l.id} value={l.id}>
                {visible(`${l.name} (${i18n.number(l.count)})`)}
              </option>
            ))}
          </select>
        </label>
        <label>
          {i18n.t('newTask.format')}
          <select name="format" value={format} onChange={(e) => setFormat(e.currentTarget.value)}>
            <option value="auto">{i18n.t('newTask.auto')}</option>
            {(chosen?.formats ?? []).map((f) => (
              <option key={f.format} value={f.format} disabled={!f.usable}>
                {visible(f.usable ? f.format : `${f.format} — ${f.reason ?? ''}`)}
              </option>
            ))}
          </select>
        </label>
        <label>
          {i18n.t('newTask.destination')}
          <select name="destination" value={destination} onChange={(e) => setDestination(e.currentTarget.value)}>
            <option value="">{i18n.t('newTask.choose')}</option>
            {destinations.map((d) => (
              <option key={d.name} value={d.name}>
                {visible(`${d.name} · ${d.url}`)}
              </option>
            ))}
          </select>
        </label>
        <label class="wide">
          {i18n.t('newTask.naming')}
          <input name="naming" value={naming} spellcheck={false} onInput={(e) => setNaming(e.currentTarget.value)} />
          <small>{i18n.t('newTask.namingHelp')}</small>
        </label>
        <fieldset class="wide notify" data-testid="notify">
          <legend>{i18n.t('newTask.notify')}</legend>
          <small>{i18n.t('newTask.notifyHelp')}</small>
          {subscriptions.map((s, i) => (
            <div class="subscription" key={s.key} data-testid="subscription">
              <label>
                {i18n.t('newTask.webhook')}
                <input name={`webhook-${i}`} type="url" inputMode="url" spellcheck={false} placeholder="https://hooks.example.com/subpack" value={s.url} onInput={(e) => editSubscription(i, { url: e.currentTarget.value })} />
              </label>
              <label>
                {i18n.t('newTask.notifyFormat')}
                <select name={`webhook-format-${i}`} value={s.format} onChange={(e) => editSubscription(i, { format: e.currentTarget.value as NotifySubscription['format'] })}>
                  {NOTIFY_FORMATS.map((f) => (
                    <option key={f} value={f}>
                      {i18n.t(`notifyFormat.${f}`)}
                    </option>
                  ))}
                </select>
              </label>
              <label>
                {i18n.t('newTask.notifyLevel')}
                <select name={`webhook-level-${i}`} value={s.level} onChange={(e) => editSubscription(i, { level: e.currentTarget.value as NotifySubscription['level'] })}>
                  {NOTIFY_LEVELS.map((l) => (
                    <option key={l} value={l}>
                      {i18n.t(`notifyLevel.${l}`)}
                    </option>
                  ))}
                </select>
              </label>
              <button type="button" class="secondary" onClick={() => setSubscriptions((all) => all.filter((_, j) => j !== i))}>
                {i18n.t('newTask.removeWebhook')}
              </button>
              <WebhookTest url={s.url.trim()} format={s.format} />
            </div>
          ))}
          <button
            type="button"
            class="secondary"
            data-testid="add-webhook"
            disabled={subscriptions.length >= MAX_SUBSCRIPTIONS}
            onClick={() => {
              const key = nextKey.current++;
              setSubscriptions((all) => [...all, { key, url: '', format: 'json', level: 'info' }]);
            }}
          >
            {i18n.t('newTask.addWebhook')}
          </button>
        </fieldset>
        <div class="actions wide">
          <button type="submit" class="primary" data-testid="create-task" disabled={preview === null || busy}>
            {i18n.t('newTask.create')}
          </button>
        </div>
      </form>
      <ErrorLine error={error} />
      <section class="card" data-testid="preview">
        <h2>{i18n.t('newTask.preview')}</h2>
        {!ready && <p>{i18n.t('newTask.previewEmpty')}</p>}
        {ready && previewError !== null && <PreviewProblems error={previewError} />}
        {preview && (
          <>
            <p>
              <Text value={i18n.t('newTask.target', { target: preview.target })} />
            </p>
            {preview.warnings.length > 0 && (
              <div class="warnings" role="alert" data-testid="preview-warnings">
                <p>
                  <strong>{i18n.t('newTask.warnings')}</strong> {i18n.t('newTask.warningsHelp')}
                </p>
                <ul>
                  {preview.warnings.map((w, i) => (
                    <li key={i} data-testid="preview-warning">
                      <Text value={w} />
                    </li>
                  ))}
                </ul>
              </div>
            )}
            <div class="scroll">
              <table>
                <thead>
                  <tr>
                    <th>{i18n.t('newTask.channelName')}</th>
                    <th>{i18n.t('newTask.fileName')}</th>
                  </tr>
                </thead>
                <tbody>
                  {preview.names.map((n) => (
                    <tr key={n.channel}>
                      <td>
                        <Text value={n.channel} />
                      </td>
                      <td class="mono" data-testid="preview-name">
                        <Text value={n.name} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </>
        )}
      </section>
      <Confirm open={confirming} busy={busy} title={i18n.t('newTask.confirmTitle')} onClose={() => setConfirming(false)} onConfirm={() => void create()}>
        {preview && (
          <p data-testid="confirm-summary">
            <Text value={i18n.t('newTask.confirmBody', { channels: preview.channels, size: i18n.bytes(preview.estimatedBytes), destination })} />
          </p>
        )}
        {preview && preview.warnings.length > 0 && <p class="warnings">{i18n.t('newTask.confirmWarnings', { count: preview.warnings.length })}</p>}
        {notify.length > 0 && <p>{i18n.t('newTask.confirmNotify', { count: notify.length })}</p>}
      </Confirm>
    </section>
  );
}

type TestOutcome = { kind: 'busy' } | { kind: 'delivered'; status: number; signed: boolean } | { kind: 'refused'; detail: string } | { kind: 'error'; error: unknown };

/**
 * "Send a test": the API signs and sends one sample message to the webhook through the notifier's own checks, and says
 * whether the receiver took it or why it was not delivered (a host the notifier does not allow, a receiver's refusal).
 */
function WebhookTest({ url, format }: { url: string; format: NotifySubscription['format'] }): JSX.Element {
  const { i18n } = useSession();
  const [outcome, setOutcome] = useState<TestOutcome | null>(null);
  // A result speaks of the address and format it was sent with; a change makes it old.
  useEffect(() => setOutcome(null), [url, format]);
  const send = async (): Promise<void> => {
    setOutcome({ kind: 'busy' });
    try {
      const r = await call<{ delivered: true; status: number; signed: boolean }>('POST', '/notify/test', { url, format });
      setOutcome({ kind: 'delivered', status: r.status, signed: r.signed });
    } catch (err) {
      setOutcome(err instanceof ApiError && err.status === 422 ? { kind: 'refused', detail: err.message } : { kind: 'error', error: err });
    }
  };
  return (
    <div class="webhook-test">
      <button type="button" class="secondary" data-testid="test-webhook" disabled={url === '' || outcome?.kind === 'busy'} onClick={() => void send()}>
        {i18n.t('newTask.testWebhook')}
      </button>
      {outcome !== null && (
        <p class={outcome.kind === 'delivered' ? 'ok' : outcome.kind === 'busy' ? 'note' : 'error'} role="status" data-testid="test-outcome">
          {outcome.kind === 'busy' && i18n.t('newTask.testSending')}
          {outcome.kind === 'delivered' && i18n.t(outcome.signed ? 'newTask.testDeliveredSigned' : 'newTask.testDelivered', { status: String(outcome.status) })}
          {outcome.kind === 'refused' && <Text value={outcome.detail} />}
          {outcome.kind === 'error' && errorText(i18n, outcome.error)}
        </p>
      )}
    </div>
  );
}

/**
 * Why the server refused the order as it stands: each problem on its own line (a naming template whose names are too
 * long names the channels), and what to change. Other errors as usual.
 */
function PreviewProblems({ error }: { error: unknown }): JSX.Element {
  const { i18n } = useSession();
  if (!(error instanceof ApiError) || error.status !== 422) return <ErrorLine error={error} />;
  const problems = error.errors.length > 0 ? error.errors.map((e) => (typeof e === 'string' ? e : e.message)) : [error.message];
  const naming = problems.some((p) => p.startsWith('naming'));
  return (
    <div class="error" role="alert" data-testid="preview-problems">
      <p>
        <strong>{i18n.t('newTask.refused')}</strong> {i18n.t(naming ? 'newTask.namingHelpFix' : 'newTask.refusedHelp')}
      </p>
      <ul>
        {problems.slice(0, 20).map((p, i) => (
          <li key={i} data-testid="preview-problem">
            <Text value={p} />
          </li>
        ))}
      </ul>
      {problems.length > 20 && <p>{i18n.t('newTask.moreProblems', { count: problems.length - 20 })}</p>}
    </div>
  );
}
