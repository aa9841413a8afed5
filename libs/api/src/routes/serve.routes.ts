import { Type } from '@sinclair/typebox';
import { AppRegistry, signedQuery } from '@subpack/serve';
import { problem } from '../http/problem';
import { defineRoute, type Route } from '../http/route';
import { LinkSchema } from './masters.routes';

export interface ServeLinkServices {
  registry: AppRegistry;
  /** Where `subpack serve` answers (SUBPACK_API_SERVE_URL), or undefined when this deployment has none. */
  serveUrl: string | undefined;
  /** The key serve verifies signed links with (SUBPACK_SERVE_URL_KEY), for apps that need signed links. */
  urlKey: string | undefined;
  lifetimeSeconds: number;
}

const ServedAppSchema = Type.Object(
  { name: Type.String(), master: Type.String(), format: Type.String(), naming: Type.String(), signed: Type.Boolean(), updatedAt: Type.String() },
  { title: 'ServedApp' },
);

/** Apps that `subpack serve` builds channel APKs for on the fly, and links to their channels. */
export function serveRoutes(s: ServeLinkServices): Route[] {
  return [
    defineRoute({
      method: 'GET',
      path: '/apps',
      access: 'viewer',
      operationId: 'listServedApps',
      summary: 'Apps served on the fly by subpack serve (no files written)',
      tag: 'links',
      responses: { 200: { description: 'The apps.', schema: Type.Object({ items: Type.Array(ServedAppSchema), serveUrl: Type.Union([Type.String(), Type.Null()]) }) } },
      handle: async () => {
        const apps = await s.registry.listApps();
        return { body: { items: apps.map((a) => ({ name: a.name, master: a.master, format: a.format, naming: a.naming, signed: a.signed, updatedAt: a.updatedAt })), serveUrl: s.serveUrl ?? null } };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/apps/{app}/channels/{channel}/link',
      access: 'viewer',
      operationId: 'servedChannelLink',
      summary: 'A link to one channel of an app served on the fly; signed (until SUBPACK_API_LINK_TTL) when the app asks for it',
      tag: 'links',
      responses: { 200: { description: 'The link.', schema: LinkSchema }, 404: { description: 'No such app or channel.' }, 409: { description: 'No serve URL or key is configured.' } },
      handle: async ({ params }) => {
        const app = params['app']!;
        const channel = params['channel']!;
        if (s.serveUrl === undefined) throw problem('CONFLICT', 'this API has no SUBPACK_API_SERVE_URL: it does not know where subpack serve answers');
        const served = await s.registry.getApp(app);
        if (!served) throw problem('NOT_FOUND', `no served app ${JSON.stringify(app)}`);
        if (!(await s.registry.getChannel(served.name, channel))) throw problem('NOT_FOUND', `app ${JSON.stringify(served.name)} has no channel ${JSON.stringify(channel)}`);
        const expires = Math.floor(Date.now() / 1000) + s.lifetimeSeconds;
        const url = `${s.serveUrl.replace(/\/+$/, '')}/apk/${encodeURIComponent(served.name)}/${encodeURIComponent(channel)}.apk`;
        if (!served.signed) return { body: { channel, url, expiresAt: new Date(expires * 1000).toISOString() } };
        if (s.urlKey === undefined) throw problem('CONFLICT', `app ${served.name} needs signed links: set SUBPACK_SERVE_URL_KEY (the serve service's key) for the API`);
        return { body: { channel, url: `${url}?${signedQuery(s.urlKey, served.name, channel, expires)}`, expiresAt: new Date(expires * 1000).toISOString() } };
      },
    }),
  ];
}
