import { ApkError, checkFormatFits, readApkLayout, type ApkLayout, type ByteSource } from '@subpack/apk';
import { inspectApk, type Inspection } from '@subpack/pack';
import { MasterError } from './errors';
import { CONCRETE_FORMATS, ICON_MAX_BYTES, type FormatFit, type MasterRecord } from './schemas';

/** What inspection adds to a record: everything but where the master is and who brought it. */
export type MasterFacts = Omit<MasterRecord, 'id' | 'url' | 'origin' | 'uploadedBy' | 'createdAt' | 'filename'>;

/**
 * Reads a master exactly as `subpack inspect` does, plus which formats fit it, judged by the same rule `pack` applies.
 * Refuses what can never be a master: not a ZIP, truncated, no readable manifest, or not signed at all. A master whose
 * signing block is malformed is kept, with its problems, since pack names them precisely when asked to use it.
 * `shownAs` replaces the storage path in messages, so a refusal never tells a client where the server keeps files.
 */
export async function inspectMaster(src: ByteSource, shownAs: string): Promise<MasterFacts> {
  const info = await hidePath(src.path, shownAs, () => inspectApk(src));
  const formats = await formatFits(src);
  const unsigned = formats.find((f) => f.code === 'NOT_SIGNED');
  if (unsigned) throw new MasterError('NOT_SIGNED', unsigned.reason.split(src.path).join(shownAs));
  return {
    ...facts(info),
    formats: formats.map(({ code: _code, ...fit }) => (fit.usable ? { format: fit.format, usable: true, extras: fit.extras } : { ...fit, reason: fit.reason.split(src.path).join(shownAs) })),
    problems: info.problems.map((p) => ({ code: p.code, message: p.message.split(src.path).join(shownAs) })),
  };
}

function facts(info: Inspection): Omit<MasterFacts, 'formats' | 'problems'> {
  // The manifest names the icon; the ZIP must hold it, small enough to serve.
  const iconEntry = info.icon === null ? undefined : info.entries.find((e) => e.name === info.icon);
  return {
    size: info.size,
    package: info.package,
    versionName: info.versionName,
    versionCode: info.versionCode,
    versionCodeMajor: info.versionCodeMajor,
    label: info.label,
    icon: iconEntry && iconEntry.size <= ICON_MAX_BYTES ? { entry: iconEntry.name, bytes: iconEntry.size } : null,
    minSdk: info.minSdk,
    targetSdk: info.targetSdk,
    schemes: info.schemes,
    signingBlock: info.signingBlock,
    channels: info.channels.map((c) => ({ channel: c.channel, format: c.format, extras: c.extras })),
    entryCount: info.entries.length,
  };
}

type Fit = FormatFit & { usable: boolean; reason: string; code: string };

/** Each format through checkFormatFits; a master pack would refuse outright (a malformed block) fits none. */
async function formatFits(src: ByteSource): Promise<Fit[]> {
  let layout: ApkLayout;
  try {
    layout = await readApkLayout(src);
  } catch (err) {
    if (!(err instanceof ApkError)) throw err;
    return CONCRETE_FORMATS.map((format) => ({ format, usable: false, extras: false, reason: err.message, code: err.code }));
  }
  return CONCRETE_FORMATS.map((format) => {
    const extras = fits(layout, format, true) === null;
    const refusal = fits(layout, format, false);
    return refusal ? { format, usable: false, extras: false, reason: refusal.message, code: refusal.code } : { format, usable: true, extras, reason: '', code: '' };
  });
}

function fits(layout: ApkLayout, format: (typeof CONCRETE_FORMATS)[number], withExtras: boolean): ApkError | null {
  try {
    checkFormatFits(layout, format, withExtras);
    return null;
  } catch (err) {
    if (err instanceof ApkError) return err;
    throw err;
  }
}

async function hidePath<T>(path: string, shownAs: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof ApkError) throw new MasterError(err.code, err.message.split(path).join(shownAs));
    if (err instanceof RangeError) throw new MasterError('TRUNCATED', `${shownAs}: ends before its own structures say it does`);
    throw err;
  }
}
