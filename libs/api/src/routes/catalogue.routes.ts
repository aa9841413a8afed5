import { Type } from '@sinclair/typebox';
import { defineRoute, type Route } from '../http/route';
import { ChannelListInputSchema, ChannelListSchema, ChannelListSummarySchema, DestinationSchema, Page, PageQuery } from '../schemas';
import type { ApiServices } from '../services';

/** A channels file of 10 000 lines with extras, as text or JSON. */
const LIST_BODY_LIMIT = 16 * 1024 * 1024;

/** Channel lists and destinations: what a task is made from besides its master. */
export function catalogueRoutes(s: ApiServices): Route[] {
  return [
    defineRoute({
      method: 'POST',
      path: '/channel-lists',
      access: 'operator',
      operationId: 'createChannelList',
      summary: 'Create a named channel list from JSON or from the text of a channels file; every problem is reported with its line',
      tag: 'channel-lists',
      body: ChannelListInputSchema,
      bodyLimit: LIST_BODY_LIMIT,
      responses: { 201: { description: 'Created.', schema: ChannelListSchema } },
      handle: async ({ body, principal, note }) => {
        const list = await s.lists.create(body, principal!.name);
        note(list.id);
        return { status: 201, body: list, headers: { location: `/api/v1/channel-lists/${list.id}` } };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/channel-lists/check',
      access: 'viewer',
      operationId: 'checkChannelList',
      summary: 'Check a channel list without saving it',
      tag: 'channel-lists',
      body: ChannelListInputSchema,
      bodyLimit: LIST_BODY_LIMIT,
      audit: false,
      responses: { 200: { description: 'Every channel passed.', schema: Type.Object({ count: Type.Integer() }) } },
      handle: async ({ body }) => ({ body: { count: s.lists.parse(body).length } }),
    }),
    defineRoute({
      method: 'GET',
      path: '/channel-lists',
      access: 'viewer',
      operationId: 'listChannelLists',
      summary: 'Channel lists, newest first',
      tag: 'channel-lists',
      query: Type.Object(PageQuery),
      responses: { 200: { description: 'A page of lists.', schema: Page(ChannelListSummarySchema, 'ChannelListPage') } },
      handle: async ({ query }) => ({ body: await s.lists.list({ cursor: query.cursor, limit: query.limit ?? 50 }) }),
    }),
    defineRoute({
      method: 'GET',
      path: '/channel-lists/{id}',
      access: 'viewer',
      operationId: 'getChannelList',
      summary: 'A channel list with its channels and extras',
      tag: 'channel-lists',
      responses: { 200: { description: 'The list.', schema: ChannelListSchema }, 404: { description: 'No such list.' } },
      handle: async ({ params }) => ({ body: await s.lists.get(params['id']!) }),
    }),
    defineRoute({
      method: 'PUT',
      path: '/channel-lists/{id}',
      access: 'operator',
      operationId: 'replaceChannelList',
      summary: 'Replace a channel list',
      tag: 'channel-lists',
      body: ChannelListInputSchema,
      bodyLimit: LIST_BODY_LIMIT,
      responses: { 200: { description: 'Replaced.', schema: ChannelListSchema }, 404: { description: 'No such list.' } },
      handle: async ({ params, body, note }) => {
        note(params['id']!);
        return { body: await s.lists.replace(params['id']!, body) };
      },
    }),
    defineRoute({
      method: 'DELETE',
      path: '/channel-lists/{id}',
      access: 'operator',
      operationId: 'deleteChannelList',
      summary: 'Delete a channel list (tasks made from it keep their channels)',
      tag: 'channel-lists',
      responses: { 204: { description: 'Deleted.' }, 404: { description: 'No such list.' } },
      handle: async ({ params, note }) => {
        note(params['id']!);
        await s.lists.delete(params['id']!);
        return { status: 204 };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/destinations',
      access: 'viewer',
      operationId: 'listDestinations',
      summary: 'Where tasks may write, by name',
      tag: 'destinations',
      responses: { 200: { description: 'The destinations.', schema: Type.Object({ items: Type.Array(DestinationSchema) }) } },
      handle: async () => ({ body: { items: await s.destinations.list() } }),
    }),
    defineRoute({
      method: 'POST',
      path: '/destinations',
      access: 'admin',
      operationId: 'addDestination',
      summary: 'Add a destination: a file://, s3:// or oss:// prefix inside SUBPACK_TARGET_ROOTS',
      tag: 'destinations',
      body: Type.Object({ name: Type.String({ maxLength: 64 }), url: Type.String({ maxLength: 2048 }) }, { additionalProperties: false }),
      responses: { 201: { description: 'Added.', schema: DestinationSchema }, 409: { description: 'The name is taken.' } },
      handle: async ({ body, note }) => {
        note(body.name);
        return { status: 201, body: await s.destinations.add(body.name, body.url) };
      },
    }),
    defineRoute({
      method: 'DELETE',
      path: '/destinations/{name}',
      access: 'admin',
      operationId: 'removeDestination',
      summary: 'Remove a destination added here (configured ones stay)',
      tag: 'destinations',
      responses: { 204: { description: 'Removed.' }, 404: { description: 'No such destination.' }, 409: { description: 'It is configured.' } },
      handle: async ({ params, note }) => {
        note(params['name']!);
        await s.destinations.remove(params['name']!);
        return { status: 204 };
      },
    }),
  ];
}
