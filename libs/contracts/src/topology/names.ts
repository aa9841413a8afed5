// Exchange, queue and routing-key names live with the other domain rules; re-exported here because they are part of
// the message contract.
export {
  DEFAULT_NAMESPACE,
  EXCHANGES,
  QUEUES,
  ROUTING_KEYS,
  TOPOLOGY_NAME_PART,
  eventRoutingKey,
  queueRoutingKey,
  retryQueueName,
  topologyNames,
  type ExchangeNames,
  type QueueNames,
  type TopologyNames,
} from '@subpack/rules';
