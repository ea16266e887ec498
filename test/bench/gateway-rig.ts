/**
 * The gateway's competitors for `npm run bench -- gateway` (not a test file): a bare `ws`
 * echo (one frame out, the same frame back: the floor of any round trip over a websocket)
 * and a remote trigger through TaskGateway and TaskGatewayClient (a trigger frame, its
 * reply, the run's `started` and `completed` events and its outcome), both on localhost
 * in this process, in sequence and 100 at once.
 */
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { TaskGatewayClient } from '../../ts/client/index.js';
import { TaskGateway } from '../../ts/gateway/index.js';
import { Task, TaskManager } from '../../ts/index.js';

export interface IGatewayRig {
  /** `ops` echoes, `parallel` at a time; resolves with the sum of what came back (1 each). */
  echo(ops: number, parallel: number): Promise<number>;
  /** `ops` remote triggers of a task that returns 1, `parallel` at a time; with `events`, the run's events come back too. */
  trigger(ops: number, parallel: number, events: boolean): Promise<number>;
  close(): Promise<void>;
}

export async function startGatewayRig(): Promise<IGatewayRig> {
  const echoServer = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((resolve) => echoServer.once('listening', resolve));
  echoServer.on('connection', (socket) => socket.on('message', (data) => socket.send(String(data))));
  const echoSocket = new WebSocket(`ws://127.0.0.1:${(echoServer.address() as AddressInfo).port}`);
  await new Promise((resolve) => echoSocket.once('open', resolve));
  const waiting = new Map<number, (value: number) => void>();
  echoSocket.on('message', (data) => {
    const { id, value } = JSON.parse(String(data)) as { id: number; value: number };
    waiting.get(id)!(value);
    waiting.delete(id);
  });
  let lastId = 0;
  const echoOnce = (): Promise<number> => new Promise((resolve) => {
    const id = ++lastId;
    waiting.set(id, resolve);
    echoSocket.send(JSON.stringify({ id, value: 1 }));
  });

  const manager = new TaskManager();
  manager.addTask(new Task({ name: 'one', taskFunction: () => 1 }));
  await manager.start();
  const gateway = new TaskGateway({ manager, host: '127.0.0.1', credentials: { bench: { key: 'bench-key', scopes: ['trigger:*'] } } });
  await gateway.start();
  const client = new TaskGatewayClient({ url: gateway.address().url, name: 'bench', key: 'bench-key' });
  await client.connect();
  const withEvents = (): Promise<number> => client.trigger<number>('one').result;
  const withoutEvents = (): Promise<number> => client.trigger<number>('one', undefined, { events: false }).result;

  return {
    echo: (ops, parallel) => inWaves(ops, parallel, echoOnce),
    trigger: (ops, parallel, events) => inWaves(ops, parallel, events ? withEvents : withoutEvents),
    close: async () => {
      client.close();
      await gateway.stop();
      await manager.stop();
      echoSocket.close();
      await new Promise((resolve) => echoServer.close(resolve));
    },
  };
}

/** `ops` calls of `once`, `parallel` of them in flight at a time; the sum of their results. */
async function inWaves(ops: number, parallel: number, once: () => Promise<number>): Promise<number> {
  let sum = 0;
  for (let done = 0; done < ops; done += parallel) {
    const wave = Math.min(parallel, ops - done);
    if (wave === 1) sum += await once();
    else for (const value of await Promise.all(Array.from({ length: wave }, once))) sum += value;
  }
  return sum;
}
