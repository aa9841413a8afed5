import { Type } from '@sinclair/typebox';
import { MasterListQuerySchema, MasterPageSchema, MasterSchema, RegisterMasterSchema, type MasterRegistry, type MasterUploads } from '../masters';
import { problem } from '../http/problem';
import { defineRoute, type HttpMethod, type Route } from '../http/route';
import type { ApiServices } from '../services';

export interface MasterServices {
  registry: MasterRegistry;
  /** Null until the upload store is open (at start, once storage answers). */
  uploads(): MasterUploads | null;
}

function tusRoute(m: MasterServices, method: HttpMethod, path: string, operationId: string, summary: string, responses: Route['responses']): Route {
  return defineRoute({
    method,
    path,
    access: 'operator',
    operationId,
    summary,
    tag: 'masters',
    audit: method === 'POST' || method === 'DELETE',
    responses,
    handle: async ({ req, res, principal, note, params }) => {
      const uploads = m.uploads();
      if (uploads === null) throw problem('UNAVAILABLE', 'the upload store is not open yet; try again in a moment');
      if (params['uploadId'] !== undefined) note(params['uploadId']);
      await uploads.handle(req, res, principal!.name);
    },
  });
}

/** Masters: resumable uploads (tus 1.0), registration of an existing URL, the inspected facts, deletion. */
export function masterRoutes(m: MasterServices, s: ApiServices): Route[] {
  const tusHeaders = 'tus 1.0 (creation, termination); see https://tus.io/protocols/resumable-upload';
  return [
    tusRoute(m, 'POST', '/masters/uploads', 'createUpload', `Start a resumable master upload (${tusHeaders}); Upload-Length is required`, {
      201: { description: 'Created; Location names the upload.' },
      413: { description: 'Larger than SUBPACK_API_MAX_UPLOAD_BYTES.' },
    }),
    tusRoute(m, 'HEAD', '/masters/uploads/{uploadId}', 'uploadOffset', 'How much of an upload has arrived (Upload-Offset), to resume it', {
      200: { description: 'Upload-Offset and Upload-Length headers.' },
      404: { description: 'No such upload of yours.' },
    }),
    tusRoute(m, 'PATCH', '/masters/uploads/{uploadId}', 'uploadChunk', 'Send the next bytes (application/offset+octet-stream); the last chunk answers with the inspected master', {
      204: { description: 'Received; more to come.' },
      200: { description: 'The last chunk: the master, inspected and recorded.', schema: MasterSchema },
      409: { description: 'Upload-Offset does not match.' },
      422: { description: 'The file is not a usable APK (not a ZIP, truncated, unsigned); it was deleted.' },
    }),
    tusRoute(m, 'DELETE', '/masters/uploads/{uploadId}', 'abandonUpload', 'Abandon an unfinished upload', { 204: { description: 'Deleted.' } }),
    defineRoute({
      method: 'POST',
      path: '/masters',
      access: 'operator',
      operationId: 'registerMaster',
      summary: 'Register an APK already in storage (inside SUBPACK_MASTER_ROOTS); it is inspected and stays where it is',
      tag: 'masters',
      body: RegisterMasterSchema,
      responses: { 201: { description: 'Registered and inspected.', schema: MasterSchema }, 409: { description: 'Already registered.' } },
      handle: async ({ body, principal, note }) => {
        const master = await m.registry.register(body.url, principal!.name);
        note(master.id);
        return { status: 201, body: master, headers: { location: `/api/v1/masters/${master.id}` } };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/masters',
      access: 'viewer',
      operationId: 'listMasters',
      summary: 'Masters, newest first, with their inspected facts',
      tag: 'masters',
      query: MasterListQuerySchema,
      responses: { 200: { description: 'A page of masters.', schema: MasterPageSchema } },
      handle: async ({ query }) => ({ body: await m.registry.list({ ...(query.cursor !== undefined ? { cursor: query.cursor } : {}), limit: query.limit ?? 50 }) }),
    }),
    defineRoute({
      method: 'GET',
      path: '/masters/{id}',
      access: 'viewer',
      operationId: 'getMaster',
      summary: 'A master: package, versions, label, schemes, signing block, existing channels, formats that fit, problems',
      tag: 'masters',
      responses: { 200: { description: 'The master.', schema: MasterSchema }, 404: { description: 'No such master.' } },
      handle: async ({ params }) => ({ body: await m.registry.get(params['id']!) }),
    }),
    defineRoute({
      method: 'GET',
      path: '/masters/{id}/icon',
      access: 'viewer',
      operationId: 'getMasterIcon',
      summary: 'The master’s launcher icon (its densest PNG or WEBP), read out of the APK',
      tag: 'masters',
      responses: {
        200: { description: 'The icon: image/png, or image/webp for a WEBP icon.', contentType: 'image/png' },
        404: { description: 'No such master, or it has no raster launcher icon.' },
      },
      handle: async ({ params, res }) => {
        const icon = await m.registry.icon(params['id']!);
        res.writeHead(200, {
          'content-type': icon.contentType,
          'content-length': String(icon.bytes.length),
          'x-content-type-options': 'nosniff',
          'cache-control': 'private, max-age=3600',
        });
        res.end(icon.bytes);
      },
    }),
    defineRoute({
      method: 'DELETE',
      path: '/masters/{id}',
      access: 'operator',
      operationId: 'deleteMaster',
      summary: 'Delete a master (refused while a running task uses it); an uploaded master’s file goes too',
      tag: 'masters',
      responses: { 200: { description: 'Deleted; the record as it was.', schema: MasterSchema }, 404: { description: 'No such master.' }, 409: { description: 'A running task uses it.' } },
      handle: async ({ params, note }) => {
        note(params['id']!);
        return { body: await m.registry.delete(params['id']!, (url) => s.tasks.masterInUse(url)) };
      },
    }),
  ];
}

export const LinkSchema = Type.Object({ channel: Type.String(), url: Type.String(), expiresAt: Type.String() }, { title: 'DownloadLink' });
