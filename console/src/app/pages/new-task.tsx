import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { call, type ChannelListSummary, type Destination, type Master, type Page, type Preview } from '../api';
import { useSession } from '../context';
import { Confirm, ErrorLine, Text } from '../widgets';

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

  const order = { master, channelList: list, destination, ...(format !== 'auto' ? { format } : {}), ...(naming.trim() !== '' ? { naming } : {}) };
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
  }, [master, list, format, naming, destination]);

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
                {`${m.label ?? m.package} · ${m.versionName ?? ''} · ${m.filename ?? m.id}`}
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
                {`${l.name} (${i18n.number(l.count)})`}
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
                {f.usable ? f.format : `${f.format} — ${f.reason ?? ''}`}
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
                {`${d.name} · ${d.url}`}
              </option>
            ))}
          </select>
        </label>
        <label class="wide">
          {i18n.t('newTask.naming')}
          <input name="naming" value={naming} spellcheck={false} onInput={(e) => setNaming(e.currentTarget.value)} />
          <small>{i18n.t('newTask.namingHelp')}</small>
        </label>
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
        <ErrorLine error={ready ? previewError : null} />
        {preview && (
          <>
            <p>
              <Text value={i18n.t('newTask.target', { target: preview.target })} />
            </p>
            {preview.warnings.length > 0 && (
              <ul class="warnings" aria-label={i18n.t('newTask.warnings')}>
                {preview.warnings.map((w, i) => (
                  <li key={i}>
                    <Text value={w} />
                  </li>
                ))}
              </ul>
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
      </Confirm>
    </section>
  );
}
