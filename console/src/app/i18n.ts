// Every string the console shows, one catalogue per language. zh-CN must have exactly the keys of en (checked by the
// compiler), and placeholders are written {name}.

const en = {
  'app.title': 'subpack console',
  'app.loading': 'Loading…',
  'app.language': 'Language',
  'app.signedInAs': 'Signed in as {name} ({role})',
  'app.signOut': 'Sign out',
  'app.notFound': 'There is no page here.',
  'nav.masters': 'Masters',
  'nav.lists': 'Channel lists',
  'nav.newTask': 'New task',
  'nav.tasks': 'Tasks',
  'nav.system': 'System',
  'role.viewer': 'viewer',
  'role.operator': 'operator',
  'role.admin': 'admin',
  'signIn.title': 'Sign in',
  'signIn.name': 'User name',
  'signIn.password': 'Password',
  'signIn.submit': 'Sign in',
  'signIn.failed': 'Wrong user name or password.',
  'signIn.tooMany': 'Too many failed attempts; try again later.',
  'error.generic': 'The request failed: {detail}',
  'error.network': 'The server cannot be reached.',
  'error.session': 'Your session has ended; sign in again.',
  'common.refresh': 'Refresh',
  'common.cancel': 'Cancel',
  'common.confirm': 'Confirm',
  'common.close': 'Close',
  'common.next': 'Next page',
  'common.previous': 'Previous page',
  'common.none': 'None',
  'common.yes': 'yes',
  'common.no': 'no',
  'common.page': 'Page {n}',
  'masters.title': 'Masters',
  'masters.drop': 'Drop a signed APK here, or choose one',
  'masters.choose': 'Choose an APK',
  'masters.uploading': 'Uploading {name}',
  'masters.progress': '{sent} of {total} · {speed}',
  'masters.pause': 'Pause',
  'masters.resume': 'Resume',
  'masters.resumed': 'Resuming an earlier upload of this file.',
  'masters.uploaded': 'Uploaded and inspected.',
  'masters.uploadFailed': 'The upload failed: {detail}',
  'masters.empty': 'No masters yet.',
  'masters.package': 'Package',
  'masters.version': 'Version',
  'masters.label': 'Label',
  'masters.size': 'Size',
  'masters.file': 'File',
  'masters.uploadedBy': 'Uploaded by',
  'masters.created': 'Added',
  'masters.schemes': 'Signature schemes',
  'masters.pairs': 'Signing block pairs',
  'masters.pairName': 'Pair',
  'masters.pairBytes': 'Bytes',
  'masters.channels': 'Channels already inside',
  'masters.formats': 'Channel formats',
  'masters.format': 'Format',
  'masters.fits': 'Fits',
  'masters.extras': 'Carries extras',
  'masters.why': 'Why not',
  'masters.problems': 'Problems',
  'masters.sdk': 'SDK (min / target)',
  'masters.show': 'Details',
  'lists.title': 'Channel lists',
  'lists.name': 'Name',
  'lists.text': 'Channels, one per line: id,key=value,…',
  'lists.import': 'Import a channels file',
  'lists.check': 'Check',
  'lists.save': 'Save list',
  'lists.ok': 'All {count} channels pass.',
  'lists.errors': '{count} problems; nothing was saved.',
  'lists.line': 'Line',
  'lists.content': 'Content',
  'lists.problem': 'Problem',
  'lists.saved': 'Saved “{name}” with {count} channels.',
  'lists.count': 'Channels',
  'lists.createdBy': 'Created by',
  'lists.updated': 'Updated',
  'lists.empty': 'No lists yet.',
  'lists.nameNeeded': 'Give the list a name.',
  'newTask.title': 'New task',
  'newTask.master': 'Master',
  'newTask.list': 'Channel list',
  'newTask.format': 'Format',
  'newTask.auto': 'auto (the best that fits)',
  'newTask.naming': 'Naming template',
  'newTask.namingHelp': 'Placeholders: {package} {versionName} {versionCode} {label} {channel} {md5} {sha256}',
  'newTask.destination': 'Destination',
  'newTask.choose': 'Choose…',
  'newTask.preview': 'Preview',
  'newTask.previewEmpty': 'Choose a master, a list and a destination to see the file names.',
  'newTask.target': 'Written to {target}',
  'newTask.create': 'Create task…',
  'newTask.confirmTitle': 'Create this task?',
  'newTask.confirmBody': '{channels} channels, about {size} in all, to {destination}.',
  'newTask.warnings': 'Warnings',
  'newTask.channelName': 'Channel',
  'newTask.fileName': 'File name',
  'tasks.title': 'Tasks',
  'tasks.state': 'State',
  'tasks.all': 'All states',
  'tasks.id': 'Task',
  'tasks.app': 'App',
  'tasks.progress': 'Progress',
  'tasks.creator': 'Created by',
  'tasks.created': 'Created',
  'tasks.empty': 'No tasks.',
  'state.pending': 'pending',
  'state.running': 'running',
  'state.done': 'done',
  'state.partial': 'partly done',
  'state.failed': 'failed',
  'state.cancelled': 'cancelled',
  'task.title': 'Task {id}',
  'task.counts': '{done} of {total} done · {failed} failed · {kept} kept',
  'task.rate': '{rate} channels/s',
  'task.eta': 'about {eta} left',
  'task.finishedAt': 'Finished {time}',
  'task.export': 'Export',
  'task.exportCsv': 'CSV',
  'task.exportJson': 'JSON',
  'task.cancel': 'Cancel task…',
  'task.cancelTitle': 'Cancel this task?',
  'task.cancelBody': 'Channels already written stay; the rest are not written. {left} channels are left.',
  'task.cancelled': 'The task was cancelled.',
  'task.reasons': 'Why channels failed',
  'task.reasonCount': '{count} channels',
  'task.example': 'e.g. {channel}',
  'task.channels': 'Channels',
  'task.filterAll': 'All',
  'task.filterStored': 'Stored',
  'task.filterFailed': 'Failed',
  'task.channel': 'Channel',
  'task.status': 'Status',
  'task.bytes': 'Size',
  'task.md5': 'MD5',
  'task.reason': 'Reason',
  'task.link': 'Link',
  'task.copyLink': 'Copy link',
  'task.copied': 'Copied; valid until {time}',
  'task.showQr': 'QR code',
  'task.qrAlt': 'QR code of the link for {channel}',
  'task.stored': 'stored',
  'task.failedChannel': 'failed',
  'task.noChannels': 'No channels yet.',
  'task.live': 'Live',
  'system.title': 'System',
} as const;

export type Key = keyof typeof en;
export type Catalogue = Readonly<Record<Key, string>>;

const zhCN: Catalogue = {
  'app.title': 'subpack 控制台',
  'app.loading': '加载中…',
  'app.language': '语言',
  'app.signedInAs': '已登录：{name}（{role}）',
  'app.signOut': '退出登录',
  'app.notFound': '此页面不存在。',
  'nav.masters': '母包',
  'nav.lists': '渠道列表',
  'nav.newTask': '新建任务',
  'nav.tasks': '任务',
  'nav.system': '系统',
  'role.viewer': '只读',
  'role.operator': '操作员',
  'role.admin': '管理员',
  'signIn.title': '登录',
  'signIn.name': '用户名',
  'signIn.password': '密码',
  'signIn.submit': '登录',
  'signIn.failed': '用户名或密码错误。',
  'signIn.tooMany': '失败次数过多，请稍后再试。',
  'error.generic': '请求失败：{detail}',
  'error.network': '无法连接服务器。',
  'error.session': '会话已结束，请重新登录。',
  'common.refresh': '刷新',
  'common.cancel': '取消',
  'common.confirm': '确认',
  'common.close': '关闭',
  'common.next': '下一页',
  'common.previous': '上一页',
  'common.none': '无',
  'common.yes': '是',
  'common.no': '否',
  'common.page': '第 {n} 页',
  'masters.title': '母包',
  'masters.drop': '将已签名的 APK 拖到此处，或选择文件',
  'masters.choose': '选择 APK',
  'masters.uploading': '正在上传 {name}',
  'masters.progress': '{sent} / {total} · {speed}',
  'masters.pause': '暂停',
  'masters.resume': '继续',
  'masters.resumed': '正在续传此文件之前的上传。',
  'masters.uploaded': '已上传并完成解析。',
  'masters.uploadFailed': '上传失败：{detail}',
  'masters.empty': '还没有母包。',
  'masters.package': '包名',
  'masters.version': '版本',
  'masters.label': '应用名称',
  'masters.size': '大小',
  'masters.file': '文件',
  'masters.uploadedBy': '上传者',
  'masters.created': '添加时间',
  'masters.schemes': '签名方案',
  'masters.pairs': '签名块条目',
  'masters.pairName': '条目',
  'masters.pairBytes': '字节',
  'masters.channels': '已写入的渠道',
  'masters.formats': '渠道格式',
  'masters.format': '格式',
  'masters.fits': '可用',
  'masters.extras': '支持附加信息',
  'masters.why': '不可用的原因',
  'masters.problems': '问题',
  'masters.sdk': 'SDK（最低 / 目标）',
  'masters.show': '详情',
  'lists.title': '渠道列表',
  'lists.name': '名称',
  'lists.text': '渠道，每行一个：id,key=value,…',
  'lists.import': '导入渠道文件',
  'lists.check': '检查',
  'lists.save': '保存列表',
  'lists.ok': '全部 {count} 个渠道均通过检查。',
  'lists.errors': '发现 {count} 个问题，未保存。',
  'lists.line': '行',
  'lists.content': '内容',
  'lists.problem': '问题',
  'lists.saved': '已保存“{name}”，共 {count} 个渠道。',
  'lists.count': '渠道数',
  'lists.createdBy': '创建者',
  'lists.updated': '更新时间',
  'lists.empty': '还没有渠道列表。',
  'lists.nameNeeded': '请为列表命名。',
  'newTask.title': '新建任务',
  'newTask.master': '母包',
  'newTask.list': '渠道列表',
  'newTask.format': '格式',
  'newTask.auto': '自动（选择最合适的）',
  'newTask.naming': '命名模板',
  'newTask.namingHelp': '占位符：{package} {versionName} {versionCode} {label} {channel} {md5} {sha256}',
  'newTask.destination': '目标位置',
  'newTask.choose': '请选择…',
  'newTask.preview': '预览',
  'newTask.previewEmpty': '选择母包、渠道列表和目标位置后即可预览文件名。',
  'newTask.target': '写入 {target}',
  'newTask.create': '创建任务…',
  'newTask.confirmTitle': '确认创建此任务？',
  'newTask.confirmBody': '{channels} 个渠道，总计约 {size}，写入 {destination}。',
  'newTask.warnings': '警告',
  'newTask.channelName': '渠道',
  'newTask.fileName': '文件名',
  'tasks.title': '任务',
  'tasks.state': '状态',
  'tasks.all': '全部状态',
  'tasks.id': '任务',
  'tasks.app': '应用',
  'tasks.progress': '进度',
  'tasks.creator': '创建者',
  'tasks.created': '创建时间',
  'tasks.empty': '没有任务。',
  'state.pending': '等待中',
  'state.running': '进行中',
  'state.done': '已完成',
  'state.partial': '部分完成',
  'state.failed': '失败',
  'state.cancelled': '已取消',
  'task.title': '任务 {id}',
  'task.counts': '已完成 {done} / {total} · 失败 {failed} · 保留 {kept}',
  'task.rate': '每秒 {rate} 个渠道',
  'task.eta': '预计还需 {eta}',
  'task.finishedAt': '完成于 {time}',
  'task.export': '导出',
  'task.exportCsv': 'CSV',
  'task.exportJson': 'JSON',
  'task.cancel': '取消任务…',
  'task.cancelTitle': '确认取消此任务？',
  'task.cancelBody': '已写入的渠道包会保留，其余不再写入。剩余 {left} 个渠道。',
  'task.cancelled': '任务已取消。',
  'task.reasons': '渠道失败原因',
  'task.reasonCount': '{count} 个渠道',
  'task.example': '例如 {channel}',
  'task.channels': '渠道',
  'task.filterAll': '全部',
  'task.filterStored': '已存储',
  'task.filterFailed': '失败',
  'task.channel': '渠道',
  'task.status': '状态',
  'task.bytes': '大小',
  'task.md5': 'MD5',
  'task.reason': '原因',
  'task.link': '链接',
  'task.copyLink': '复制链接',
  'task.copied': '已复制，有效期至 {time}',
  'task.showQr': '二维码',
  'task.qrAlt': '{channel} 的下载链接二维码',
  'task.stored': '已存储',
  'task.failedChannel': '失败',
  'task.noChannels': '还没有渠道结果。',
  'task.live': '实时',
  'system.title': '系统',
};

export const LOCALES = ['zh-CN', 'en'] as const;
export type Locale = (typeof LOCALES)[number];
export const LOCALE_NAMES: Readonly<Record<Locale, string>> = { 'zh-CN': '简体中文', en: 'English' };
const CATALOGUES: Readonly<Record<Locale, Catalogue>> = { 'zh-CN': zhCN, en };

const STORAGE_KEY = 'subpack.locale';

/** The saved choice, else the browser's first language we have (any zh-* reads Chinese), else English. */
export function initialLocale(): Locale {
  const saved = safeStorage()?.getItem(STORAGE_KEY);
  if (saved === 'zh-CN' || saved === 'en') return saved;
  for (const lang of navigator.languages ?? [navigator.language]) {
    const l = lang.toLowerCase();
    if (l.startsWith('zh')) return 'zh-CN';
    if (l.startsWith('en')) return 'en';
  }
  return 'en';
}

export function saveLocale(locale: Locale): void {
  safeStorage()?.setItem(STORAGE_KEY, locale);
}

function safeStorage(): Storage | null {
  try {
    return window.localStorage;
  } catch {
    return null;
  }
}

export type Vars = Readonly<Record<string, string | number>>;

/** Formatting for one locale: the catalogue's strings, and numbers, sizes and times through Intl. */
export class I18n {
  private readonly catalogue: Catalogue;
  private readonly integer: Intl.NumberFormat;
  private readonly decimal: Intl.NumberFormat;
  private readonly percentFormat: Intl.NumberFormat;
  private readonly dateTime: Intl.DateTimeFormat;

  constructor(readonly locale: Locale) {
    this.catalogue = CATALOGUES[locale];
    this.integer = new Intl.NumberFormat(locale, { maximumFractionDigits: 0 });
    this.decimal = new Intl.NumberFormat(locale, { maximumFractionDigits: 1 });
    this.percentFormat = new Intl.NumberFormat(locale, { style: 'percent', maximumFractionDigits: 0 });
    this.dateTime = new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'medium' });
  }

  /** The string for `key` with its placeholders filled; values are numbers formatted for the locale, or text. */
  t(key: Key, vars: Vars = {}): string {
    return this.catalogue[key].replace(/\{(\w+)\}/g, (whole, name: string) => {
      const value = vars[name];
      if (value === undefined) return whole;
      return typeof value === 'number' ? this.integer.format(value) : value;
    });
  }

  number(n: number): string {
    return this.integer.format(n);
  }

  rate(n: number): string {
    return this.decimal.format(n);
  }

  percent(fraction: number): string {
    return this.percentFormat.format(fraction);
  }

  /** A byte count in the largest unit that keeps it at least 1 (B, kB, MB, GB; powers of 1024). */
  bytes(n: number): string {
    const units = ['byte', 'kilobyte', 'megabyte', 'gigabyte', 'terabyte'] as const;
    let value = n;
    let i = 0;
    while (value >= 1024 && i < units.length - 1) {
      value /= 1024;
      i++;
    }
    return new Intl.NumberFormat(this.locale, { style: 'unit', unit: units[i], unitDisplay: 'short', maximumFractionDigits: i === 0 ? 0 : 1 }).format(value);
  }

  speed(bytesPerSecond: number): string {
    const mb = bytesPerSecond / (1024 * 1024);
    return new Intl.NumberFormat(this.locale, { style: 'unit', unit: 'megabyte-per-second', unitDisplay: 'short', maximumFractionDigits: 1 }).format(mb);
  }

  /** A duration as hours, minutes and seconds, the largest two units. */
  duration(seconds: number): string {
    const s = Math.max(0, Math.round(seconds));
    const parts: [number, 'hour' | 'minute' | 'second'][] = [
      [Math.floor(s / 3600), 'hour'],
      [Math.floor((s % 3600) / 60), 'minute'],
      [s % 60, 'second'],
    ];
    const shown = parts.filter(([v], i) => v > 0 || i === 2);
    return shown
      .slice(0, 2)
      .map(([v, unit]) => new Intl.NumberFormat(this.locale, { style: 'unit', unit, unitDisplay: 'short' }).format(v))
      .join(' ');
  }

  time(iso: string): string {
    const d = new Date(iso);
    return Number.isNaN(d.getTime()) ? iso : this.dateTime.format(d);
  }
}
