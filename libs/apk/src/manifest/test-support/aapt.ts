import { run } from '@subpack/testing';

/** What `aapt dump badging` says about an APK: aapt reads manifests with the platform's own ResXMLTree. */
export interface Badging {
  package: string;
  versionCode: string;
  versionName: string;
  sdkVersion?: string;
  targetSdkVersion?: string;
  /** 'application-label' is under '', 'application-label-zh-CN' under 'zh-CN'. */
  labels: Map<string, string>;
  /** 'application-icon-320' is under 320: the file aapt picks for that density. */
  icons: Map<number, string>;
}

export async function aaptBadging(apk: string): Promise<Badging> {
  const { stdout } = await run('aapt', ['dump', 'badging', apk]);
  const quoted = (line: string, key: string): string | undefined => new RegExp(`${key}='([^']*)'`).exec(line)?.[1];
  const pkgLine = stdout.split('\n').find((l) => l.startsWith('package: ')) ?? '';
  const labels = new Map<string, string>();
  for (const m of stdout.matchAll(/^application-label(?:-([^:]+))?:'(.*)'$/gm)) labels.set(m[1] ?? '', m[2] ?? '');
  const icons = new Map<number, string>();
  for (const m of stdout.matchAll(/^application-icon-(\d+):'(.*)'$/gm)) icons.set(Number(m[1]), m[2] ?? '');
  return {
    package: quoted(pkgLine, 'name') ?? '',
    versionCode: quoted(pkgLine, 'versionCode') ?? '',
    versionName: quoted(pkgLine, 'versionName') ?? '',
    sdkVersion: /^sdkVersion:'(.*)'$/m.exec(stdout)?.[1],
    targetSdkVersion: /^targetSdkVersion:'(.*)'$/m.exec(stdout)?.[1],
    labels,
    icons,
  };
}

/** One value from `aapt dump --values resources`. */
export interface DumpedValue {
  /** aapt's config name: 'default', 'zh-rCN', 'sw600dp', … */
  config: string;
  id: number;
  /** package:type/name */
  name: string;
  /** null for bags (complex entries). */
  dataType: number | null;
  data: number;
  /** For string values, the text as aapt printed it (escapes not undone). */
  text?: string;
}

export async function aaptDumpValues(apk: string): Promise<DumpedValue[]> {
  const { stdout } = await run('aapt', ['dump', '--values', 'resources', apk]);
  const out: DumpedValue[] = [];
  let config = '';
  let last: DumpedValue | undefined;
  for (const line of stdout.split('\n')) {
    const cfg = /^ {6}config (.+):$/.exec(line);
    if (cfg) {
      config = cfg[1] === '(default)' ? 'default' : (cfg[1] ?? '');
      continue;
    }
    const res = /^ {8}resource 0x([0-9a-f]{8}) (\S+): (?:t=0x([0-9a-f]{2}) d=0x([0-9a-f]{8})|<bag>)/.exec(line);
    if (res) {
      last = {
        config,
        id: parseInt(res[1] ?? '', 16),
        name: res[2] ?? '',
        dataType: res[3] === undefined ? null : parseInt(res[3], 16),
        data: res[4] === undefined ? 0 : parseInt(res[4], 16),
      };
      out.push(last);
      continue;
    }
    const str = /^ {10}\(string(?:8|16)\) "(.*)"$/.exec(line);
    if (str && last) last.text = str[1];
  }
  return out;
}

/**
 * The literal string of an android: attribute as `aapt dump xmltree` prints it, or undefined when it is absent or
 * not a literal. Needed because badging prints no application-label for a literal label.
 */
export async function aaptLiteralAttribute(apk: string, name: string): Promise<string | undefined> {
  const { stdout } = await run('aapt', ['dump', 'xmltree', apk, 'AndroidManifest.xml']);
  return new RegExp(`^\\s*A: android:${name}\\(0x[0-9a-f]{8}\\)="(.*)" \\(Raw: `, 'm').exec(stdout)?.[1];
}
