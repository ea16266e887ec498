/**
 * Helpers for the gateway and client tests (not a test file): a real gateway on a free
 * localhost port, real clients, and raw websockets for frames no client would send.
 */
import type { TestContext } from 'node:test';
import { WebSocket } from 'ws';
import { TaskGatewayClient, type ITaskGatewayClientOptions } from '../ts/client/index.js';
import { TaskGateway, type ITaskGatewayOptions } from '../ts/gateway/index.js';
import { TaskManager } from '../ts/index.js';

export const ADMIN = { name: 'admin', key: 'admin-key-1234' };

/** A started manager and a started gateway on 127.0.0.1 with an `admin` client; both stopped when the test ends. */
export async function gatewayFor(t: TestContext, options: Partial<ITaskGatewayOptions> = {}): Promise<{ gateway: TaskGateway; manager: TaskManager; url: string }> {
  const manager = options.manager ?? new TaskManager();
  const gateway = new TaskGateway({ host: '127.0.0.1', ...options, manager, credentials: { [ADMIN.name]: { key: ADMIN.key, scopes: ['admin'] }, ...options.credentials } });
  await manager.start();
  await gateway.start();
  t.after(async () => {
    await gateway.stop();
    await manager.stop();
  });
  return { gateway, manager, url: gateway.address().url };
}

/** A connected client, closed when the test ends. */
export async function clientFor(t: TestContext, url: string, credentials = ADMIN, options: Partial<ITaskGatewayClientOptions> = {}): Promise<TaskGatewayClient> {
  const client = new TaskGatewayClient({ url, ...credentials, ...options });
  t.after(() => client.close());
  await client.connect();
  return client;
}

/** A raw websocket to the gateway, with every frame it receives parsed and kept; closed when the test ends. */
export async function rawSocket(t: TestContext, url: string, headers?: Record<string, string>): Promise<{ socket: WebSocket; frames: any[]; closed: Promise<{ code: number; reason: string }> }> {
  const socket = new WebSocket(url, { headers });
  const frames: any[] = [];
  socket.on('message', (data) => {
    try {
      frames.push(JSON.parse(String(data)));
    } catch {
      frames.push(String(data));
    }
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => socket.on('close', (code, reason) => resolve({ code, reason: String(reason) })));
  t.after(() => socket.terminate());
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  return { socket, frames, closed };
}

/** Sends `frame` (as JSON unless it is a string already). */
export function sendRaw(socket: WebSocket, frame: unknown): void {
  socket.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
}
