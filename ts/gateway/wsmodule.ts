/**
 * ws, for `taskbuffer/gateway` only. Like ioredis for `taskbuffer/redis`, it is an optional
 * peer dependency: without it, Node's own error would not say that the user is expected
 * to install it; this module says so (see coordinator/ioredis.ts for the same pattern).
 */
import type { WebSocketServer as WsServer } from 'ws';
import { isMissingPackage, MissingDependencyError } from '../coordinator/errors.js';

async function importServerClass(): Promise<typeof WsServer> {
  try {
    return (await import('ws')).WebSocketServer;
  } catch (error) {
    if (!isMissingPackage(error, 'ws')) throw error;
    throw new MissingDependencyError('ws',
      'taskbuffer/gateway needs the ws package, which is not installed. It is an optional peer dependency of ' +
        'taskbuffer (only the gateway, and the client on Node 20, use it); install it with\n  npm install ws',
      error);
  }
}

/** ws's server class, as `import { WebSocketServer } from 'ws'` gives it. */
export const WebSocketServer = await importServerClass();
