/**
 * Every default of the messaging layer, named once. Options left out fall back to these; services and the CLI
 * override them from their configuration.
 */
export const MESSAGING_DEFAULTS = {
  /** How long connect() keeps trying before it gives up. */
  connectTimeoutMs: 30_000,
  /** TCP + AMQP handshake of one connection attempt. */
  socketTimeoutMs: 10_000,
  /** AMQP heartbeat, so a dead peer is noticed within about two of these. */
  heartbeatSeconds: 15,
  /** How long a publish (or a parking-lot operation) waits for a reconnect. */
  reconnectWaitMs: 10_000,
  /** How long shutdown waits for in-flight handlers before closing the connection. */
  drainTimeoutMs: 30_000,
  /** Unacked messages per consumer: one, so a long job never holds others back. */
  prefetch: 1,
  /** The retry-scheduler only moves messages between queues, so it may hold more at once. */
  retrySchedulerPrefetch: 10,
  /** Pause before a message whose handler failed transiently is requeued. */
  requeueDelayMs: 1000,
  /** Messages listed by one parking-lot query. */
  parkedListLimit: 100,
} as const;
