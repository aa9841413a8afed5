import { Catch, type DynamicModule, Module, type RpcExceptionFilter } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { type Observable, throwError } from 'rxjs';
import { AmqpConnectionManager } from '../connection-manager';
import { Publisher } from '../publisher';

/**
 * Rethrows a handler's error unchanged. Nest's default RPC filter would turn it into `{ status, message }` and the
 * transport could no longer tell a PermanentError (park at once) from a transient one.
 */
@Catch()
export class AmqpErrorPassthroughFilter implements RpcExceptionFilter<unknown> {
  catch(exception: unknown): Observable<never> {
    return throwError(() => exception);
  }
}

/**
 * Makes the transport's connection manager and its Publisher injectable (`constructor(private publisher: Publisher)`),
 * so services publish follow-up messages on the same connection, and installs AmqpErrorPassthroughFilter globally.
 */
@Module({})
export class AmqpMessagingModule {
  static forManager(manager: AmqpConnectionManager): DynamicModule {
    return {
      module: AmqpMessagingModule,
      global: true,
      providers: [
        { provide: AmqpConnectionManager, useValue: manager },
        { provide: Publisher, useValue: manager.publisher },
        { provide: APP_FILTER, useClass: AmqpErrorPassthroughFilter },
      ],
      exports: [AmqpConnectionManager, Publisher],
    };
  }
}
