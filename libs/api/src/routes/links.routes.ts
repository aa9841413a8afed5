import type { IncomingMessage } from 'node:http';
import { Type } from '@sinclair/typebox';
import type { TaskStore } from '@subpack/state';
import type { StorageRoots } from '@subpack/storage';
import { downloadLink, serveFile, type FileLinks } from '../links';
import { problem } from '../http/problem';
import { API_PREFIX } from '../http/router';
import { defineRoute, type Route } from '../http/route';
import { Page, PageQuery } from '../schemas';
import type { ApiServices } from '../services';
import { LinkSchema } from './masters.routes';

export interface LinkServices {
  store: TaskStore;
  fileLinks: FileLinks;
  targetRoots: StorageRoots;
  lifetimeSeconds: number;
  /** Configured public URL of the API (SUBPACK_API_PUBLIC_URL), else links name the host the request came to. */
  publicUrl: string | undefined;
  trustProxy: boolean;
}

function baseUrl(l: LinkServices, req: IncomingMessage): string {
  if (l.publicUrl !== undefined) return l.publicUrl.replace(/\/+$/, '');
  const forwarded = (name: string): string | undefined => {
    const v = req.headers[name];
    return l.trustProxy ? (Array.isArray(v) ? v[0] : v)?.split(',')[0]?.trim() : undefined;
  };
  const proto = forwarded('x-forwarded-proto') ?? ('encrypted' in req.socket ? 'https' : 'http');
  const host = forwarded('x-forwarded-host') ?? req.headers.host ?? 'localhost';
  return `${proto}://${host}`;
}

/** Download links per stored channel: presigned for object stores, API-signed tokens for file:// destinations. */
export function linkRoutes(l: LinkServices, s: ApiServices): Route[] {
  const linkFor = async (req: IncomingMessage, taskId: string, channel: string, url: string) => {
    const link = await downloadLink(url, { kind: 'channel', taskId, channel }, l.lifetimeSeconds, { fileLinks: l.fileLinks, fileLinkBase: `${baseUrl(l, req)}${API_PREFIX}/downloads/` });
    return { channel, url: link.url, expiresAt: link.expiresAt.toISOString() };
  };
  return [
    defineRoute({
      method: 'GET',
      path: '/tasks/{id}/channels/{channel}/link',
      access: 'viewer',
      operationId: 'channelLink',
      summary: 'A download link for one stored channel, valid for SUBPACK_API_LINK_TTL seconds without signing in',
      tag: 'links',
      responses: { 200: { description: 'The link.', schema: LinkSchema }, 404: { description: 'No such task, or the channel is not stored.' } },
      handle: async ({ params, req }) => {
        const taskId = params['id']!;
        const channel = params['channel']!;
        await s.tasks.summary(taskId);
        const record = await l.store.channelRecord(taskId, channel);
        if (record?.status !== 'stored' || record.url === undefined) throw problem('NOT_FOUND', `channel ${JSON.stringify(channel)} of ${taskId} is not stored`);
        return { body: await linkFor(req, taskId, channel, record.url) };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/tasks/{id}/links',
      access: 'viewer',
      operationId: 'taskLinks',
      summary: 'Download links of the stored channels, a page at a time',
      tag: 'links',
      query: Type.Object(PageQuery),
      responses: { 200: { description: 'A page of links.', schema: Page(LinkSchema, 'LinkPage') } },
      handle: async ({ params, query, req }) => {
        const taskId = params['id']!;
        const page = await s.tasks.channels(taskId, { cursor: query.cursor, limit: query.limit ?? 50, status: 'stored' });
        const items = await Promise.all(page.items.filter((r) => r.url !== undefined).map((r) => linkFor(req, taskId, r.channel, r.url!)));
        return { body: { items, nextCursor: page.nextCursor } };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/downloads/{token}',
      access: 'public',
      operationId: 'download',
      summary: 'A channel APK of a file:// destination, by a signed link (Range requests supported)',
      tag: 'links',
      responses: {
        200: { description: 'The APK.', contentType: 'application/vnd.android.package-archive' },
        206: { description: 'A range of it.', contentType: 'application/vnd.android.package-archive' },
        403: { description: 'The link is forged or expired.' },
        404: { description: 'The channel is no longer stored.' },
      },
      handle: async ({ params, req, res }) => {
        const subject = l.fileLinks.verify(params['token']!);
        let url: string;
        if (subject.kind === 'file') url = subject.url;
        else {
          const record = await l.store.channelRecord(subject.taskId, subject.channel);
          if (record?.status !== 'stored' || record.url === undefined) throw problem('NOT_FOUND', 'the channel is no longer stored');
          url = record.url;
        }
        await serveFile(req, res, url, l.targetRoots);
      },
    }),
  ];
}
