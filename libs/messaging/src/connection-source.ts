import type { ChannelModel } from 'amqplib';

/** What publishers and consumers need from the connection manager. */
export interface ConnectionSource {
  /** The live connection; waits (up to `timeoutMs`) while (re)connecting, rejects with NotConnectedError after. */
  waitForConnection(timeoutMs: number): Promise<ChannelModel>;
}
