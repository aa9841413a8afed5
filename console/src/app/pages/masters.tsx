import type { JSX } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { Upload } from 'tus-js-client';
import { API, call, canWrite, csrfHeaders, type Master, type Page } from '../api';
import { useSession } from '../context';
import { ErrorLine, Progress, Text } from '../widgets';
import { visible } from '../text';

interface UploadState {
  name: string;
  sent: number;
  total: number;
  bytesPerSecond: number;
  paused: boolean;
  resumed: boolean;
  error: string | null;
}

/** Upload speed over the last few seconds, from (time, bytes) samples. */
class SpeedMeter {
  private samples: [number, number][] = [];
  add(bytes: number): number {
    const now = performance.now();
    this.samples.push([now, bytes]);
    while (this.samples.length > 2 && now - (this.samples[0]?.[0] ?? now) > 3000) this.samples.shift();
    const first = this.samples[0];
    if (!first || now === first[0]) return 0;
    return ((bytes - first[1]) * 1000) / (now - first[0]);
  }
  reset(): void {
    this.samples = [];
  }
}

export function MastersPage(): JSX.Element {
  const { i18n, caller } = useSession();
  const [masters, setMasters] = useState<Master[]>([]);
  const [selected, setSelected] = useState<Master | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [upload, setUpload] = useState<UploadState | null>(null);
  const [done, setDone] = useState(false);
  const [dragging, setDragging] = useState(false);
  const current = useRef<Upload | null>(null);
  const meter = useRef(new SpeedMeter());
  const input = useRef<HTMLInputElement>(null);
  const writer = canWrite(caller.role);

  const load = async (): Promise<void> => {
    try {
      const page = await call<Page<Master>>('GET', '/masters?limit=100');
      setMasters(page.items);
      setError(null);
    } catch (err) {
      setError(err);
    }
  };
  useEffect(() => {
    void load();
    return () => void current.current?.abort();
  }, []);

  const start = async (file: File): Promise<void> => {
    setDone(false);
    meter.current.reset();
    const state: UploadState = { name: file.name, sent: 0, total: file.size, bytesPerSecond: 0, paused: false, resumed: false, error: null };
    setUpload(state);
    const tus = new Upload(file, {
      endpoint: `${API}/masters/uploads`,
      chunkSize: 8 * 1024 * 1024,
      retryDelays: [0, 1000, 3000, 5000, 10000],
      headers: csrfHeaders(),
      metadata: { filename: file.name },
      removeFingerprintOnSuccess: true,
      onProgress: (sent, total) => setUpload((u) => (u ? { ...u, sent, total, bytesPerSecond: meter.current.add(sent) } : u)),
      onError: (err) => setUpload((u) => (u ? { ...u, error: i18n.t('masters.uploadFailed', { detail: visible(tusMessage(err)) }) } : u)),
      onSuccess: (payload) => {
        current.current = null;
        setUpload((u) => (u ? { ...u, sent: u.total } : u));
        setDone(true);
        try {
          const master = JSON.parse(payload.lastResponse.getBody()) as Master;
          setSelected(master);
        } catch {
          // The list below shows it in any case.
        }
        void load();
      },
    });
    current.current = tus;
    const previous = await tus.findPreviousUploads();
    const last = previous[0];
    if (last) {
      tus.resumeFromPreviousUpload(last);
      setUpload({ ...state, resumed: true });
    }
    tus.start();
  };

  const pause = (): void => {
    void current.current?.abort();
    setUpload((u) => (u ? { ...u, paused: true, bytesPerSecond: 0 } : u));
  };
  const resume = (): void => {
    meter.current.reset();
    current.current?.start();
    setUpload((u) => (u ? { ...u, paused: false, error: null } : u));
  };

  const onDrop = (e: DragEvent): void => {
    e.preventDefault();
    setDragging(false);
    const file = e.dataTransfer?.files[0];
    if (file) void start(file);
  };

  return (
    <section>
      <h1>{i18n.t('masters.title')}</h1>
      {writer && (
        <div
          class={dragging ? 'dropzone dragging' : 'dropzone'}
          data-testid="dropzone"
          onDragOver={(e) => {
            e.preventDefault();
            setDragging(true);
          }}
          onDragLeave={() => setDragging(false)}
          onDrop={onDrop}
        >
          <p>{i18n.t('masters.drop')}</p>
          <input
            ref={input}
            type="file"
            accept=".apk,application/vnd.android.package-archive"
            data-testid="apk-input"
            aria-label={i18n.t('masters.choose')}
            onChange={(e) => {
              const file = e.currentTarget.files?.[0];
              if (file) void start(file);
              e.currentTarget.value = '';
            }}
          />
        </div>
      )}
      {upload && (
        <div class="card upload" data-testid="upload">
          <p>
            {i18n.t('masters.uploading', { name: visible(upload.name) })}
            {upload.resumed && <span class="note"> {i18n.t('masters.resumed')}</span>}
          </p>
          <Progress
            value={upload.total === 0 ? 0 : upload.sent / upload.total}
            label={`${i18n.percent(upload.total === 0 ? 0 : upload.sent / upload.total)} · ${i18n.t('masters.progress', { sent: i18n.bytes(upload.sent), total: i18n.bytes(upload.total), speed: i18n.speed(upload.bytesPerSecond) })}`}
          />
          {!done &&
            (upload.paused || upload.error !== null ? (
              <button type="button" class="secondary" onClick={resume}>
                {i18n.t('masters.resume')}
              </button>
            ) : (
              <button type="button" class="secondary" onClick={pause}>
                {i18n.t('masters.pause')}
              </button>
            ))}
          {upload.error !== null && (
            <p class="error" role="alert">
              {upload.error}
            </p>
          )}
          {done && <p class="ok">{i18n.t('masters.uploaded')}</p>}
        </div>
      )}
      <ErrorLine error={error} />
      {selected && <MasterFacts master={selected} />}
      {masters.length === 0 ? (
        <p>{i18n.t('masters.empty')}</p>
      ) : (
        <div class="scroll">
          <table>
            <thead>
              <tr>
                <th>{i18n.t('masters.label')}</th>
                <th>{i18n.t('masters.package')}</th>
                <th>{i18n.t('masters.version')}</th>
                <th class="num">{i18n.t('masters.size')}</th>
                <th>{i18n.t('masters.created')}</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {masters.map((m) => (
                <tr key={m.id} class={selected?.id === m.id ? 'selected' : ''}>
                  <td>
                    <Text value={m.label} />
                  </td>
                  <td>
                    <Text value={m.package} />
                  </td>
                  <td>
                    <Text value={`${m.versionName ?? ''} (${m.versionCode})`} />
                  </td>
                  <td class="num">{i18n.bytes(m.size)}</td>
                  <td>{i18n.time(m.createdAt)}</td>
                  <td>
                    <button type="button" class="link" onClick={() => setSelected(m)}>
                      {i18n.t('masters.show')}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function tusMessage(err: Error): string {
  const original = (err as Error & { originalResponse?: { getBody(): string } | null }).originalResponse;
  if (original) {
    try {
      const body = JSON.parse(original.getBody()) as { detail?: unknown };
      if (typeof body.detail === 'string') return body.detail;
    } catch {
      // Not a problem document: fall back to the client's message.
    }
  }
  return err.message;
}

export function MasterFacts({ master }: { master: Master }): JSX.Element {
  const { i18n } = useSession();
  return (
    <article class="card facts" data-testid="master-facts">
      <h2>
        {master.icon && (
          <img
            class="app-icon"
            data-testid="master-icon"
            src={`${API}/masters/${encodeURIComponent(master.id)}/icon`}
            alt={master.label ?? master.package}
            width={48}
            height={48}
          />
        )}
        <Text value={master.label ?? master.package} />
      </h2>
      <dl>
        <dt>{i18n.t('masters.package')}</dt>
        <dd>
          <Text value={master.package} />
        </dd>
        <dt>{i18n.t('masters.version')}</dt>
        <dd>
          <Text value={`${master.versionName ?? ''} (${master.versionCode})`} />
        </dd>
        <dt>{i18n.t('masters.label')}</dt>
        <dd data-testid="master-label">
          <Text value={master.label} />
        </dd>
        <dt>{i18n.t('masters.size')}</dt>
        <dd>{i18n.bytes(master.size)}</dd>
        <dt>{i18n.t('masters.file')}</dt>
        <dd>
          <Text value={master.filename ?? master.url} />
        </dd>
        <dt>{i18n.t('masters.sdk')}</dt>
        <dd>{`${master.minSdk ?? '–'} / ${master.targetSdk ?? '–'}`}</dd>
        <dt>{i18n.t('masters.uploadedBy')}</dt>
        <dd>
          <Text value={master.uploadedBy} />
        </dd>
        <dt>{i18n.t('masters.schemes')}</dt>
        <dd>{master.schemes.length === 0 ? i18n.t('common.none') : master.schemes.join(', ')}</dd>
        <dt>{i18n.t('masters.channels')}</dt>
        <dd>
          {master.channels.length === 0
            ? i18n.t('common.none')
            : master.channels.map((c) => (
                <span class="chip" key={`${c.format}:${c.channel}`}>
                  <Text value={`${c.channel} (${c.format})${Object.keys(c.extras).length > 0 ? ` · ${Object.entries(c.extras).map(([k, v]) => `${k}=${v}`).join(', ')}` : ''}`} />
                </span>
              ))}
        </dd>
      </dl>
      {master.problems.length > 0 && (
        <>
          <h3>{i18n.t('masters.problems')}</h3>
          <ul class="error">
            {master.problems.map((p) => (
              <li key={p.code}>
                <Text value={p.message} />
              </li>
            ))}
          </ul>
        </>
      )}
      <h3>{i18n.t('masters.formats')}</h3>
      <div class="scroll">
        <table>
          <thead>
            <tr>
              <th>{i18n.t('masters.format')}</th>
              <th>{i18n.t('masters.fits')}</th>
              <th>{i18n.t('masters.extras')}</th>
              <th>{i18n.t('masters.why')}</th>
            </tr>
          </thead>
          <tbody>
            {master.formats.map((f) => (
              <tr key={f.format}>
                <td>{f.format}</td>
                <td class={f.usable ? 'ok' : 'bad'}>{f.usable ? i18n.t('common.yes') : i18n.t('common.no')}</td>
                <td>{f.extras ? i18n.t('common.yes') : i18n.t('common.no')}</td>
                <td>
                  <Text value={f.reason ?? ''} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {master.signingBlock && (
        <>
          <h3>{i18n.t('masters.pairs')}</h3>
          <div class="scroll">
            <table>
              <thead>
                <tr>
                  <th>{i18n.t('masters.pairName')}</th>
                  <th>ID</th>
                  <th class="num">{i18n.t('masters.pairBytes')}</th>
                </tr>
              </thead>
              <tbody>
                {master.signingBlock.pairs.map((p, i) => (
                  <tr key={`${p.id}-${i}`}>
                    <td>{p.name}</td>
                    <td>
                      <code>{p.id}</code>
                    </td>
                    <td class="num">{i18n.number(p.bytes)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </article>
  );
}
