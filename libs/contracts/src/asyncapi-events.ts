import { isMap, parseDocument, type Document } from 'yaml';
import { schemaFileName } from './schemas/catalog';
import { EVENT_CATALOG, EVENT_TYPES, eventSchemaName, type EventType } from './schemas/events';
import { JSON_CONTENT_TYPE } from './topology/message-properties';
import { eventRoutingKey } from '@subpack/rules';

const AMQP_BINDING_VERSION = '0.3.0';

/** `task.accepted` → `taskAccepted`: the event's message key in the AsyncAPI document. */
function messageKey(type: EventType): string {
  return type.replace(/\.(\w)/, (_, c: string) => c.toUpperCase());
}

function eventChannel(type: EventType): Record<string, unknown> {
  return {
    address: eventRoutingKey(type),
    title: `${EVENT_CATALOG[type].title} events`,
    messages: { [messageKey(type)]: { $ref: `#/components/messages/${messageKey(type)}` } },
    bindings: { $ref: '#/components/channelBindings/mainExchange' },
  };
}

function eventMessage(type: EventType): Record<string, unknown> {
  const { schema, title, exampleName } = EVENT_CATALOG[type];
  const examples = (schema.examples as readonly unknown[]).map((payload, index, all) => ({
    name: all.length === 1 ? exampleName : `${exampleName}${index + 1}`,
    payload,
  }));
  return {
    name: schema.title,
    title,
    contentType: JSON_CONTENT_TYPE,
    correlationId: { $ref: '#/components/correlationIds/taskId' },
    payload: { $ref: `./schemas/${schemaFileName(eventSchemaName(type))}` },
    bindings: { amqp: { messageType: eventRoutingKey(type), bindingVersion: AMQP_BINDING_VERSION } },
    examples,
  };
}

/**
 * The AsyncAPI document with its event channels and messages rewritten from the event catalogue: an event type added
 * to the catalogue appears, one removed disappears, everything else in the document is kept as written.
 */
export function withCatalogueEvents(asyncApiYaml: string): string {
  const doc = parseDocument(asyncApiYaml, { version: '1.1' });
  for (const key of staleEventChannels(doc)) {
    doc.deleteIn(['channels', key]);
    doc.deleteIn(['components', 'messages', key.replace(/Event$/, '')]);
  }
  for (const type of EVENT_TYPES) {
    doc.setIn(['channels', `${messageKey(type)}Event`], doc.createNode(eventChannel(type)));
    doc.setIn(['components', 'messages', messageKey(type)], doc.createNode(eventMessage(type)));
  }
  return doc.toString({ lineWidth: 0, flowCollectionPadding: false, singleQuote: true });
}

function staleEventChannels(doc: Document): string[] {
  const channels = doc.get('channels');
  if (!isMap(channels)) return [];
  const current = new Set(EVENT_TYPES.map((type) => eventRoutingKey(type)));
  return channels.items.flatMap((pair) => {
    const address = doc.getIn(['channels', String(pair.key), 'address']);
    return typeof address === 'string' && address.startsWith(eventRoutingKey('')) && !current.has(address as never) ? [String(pair.key)] : [];
  });
}
