import { BaseRpcContext } from '@nestjs/microservices';
import type { IncomingMessage } from '../incoming-message';

type AmqpContextArgs = [message: IncomingMessage, queue: string];

/** Second argument of an @EventPattern handler (`@Ctx()`): the delivery with its headers and attempt. */
export class AmqpContext extends BaseRpcContext<AmqpContextArgs> {
  getMessage(): IncomingMessage {
    return this.args[0];
  }

  getQueue(): string {
    return this.args[1];
  }
}
