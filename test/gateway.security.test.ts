/**
 * Credentials and permissions of the gateway, and what it does with bad input: scopes
 * allowed and refused for every action, keys never echoed, maxConnections, the auth
 * timeout, slowed-down guessing, removed credentials, malformed frames, frames over the
 * size limit and refused origins. Real websockets on localhost throughout.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AuthFailedError, GatewayRequestError, TaskGatewayClient } from '../ts/client/index.js';
import { CLOSE_CODES, TaskGateway, allows, patternCovers } from '../ts/gateway/index.js';
import { InvalidOptionError, Task, TaskConstraintGroup, TaskManager } from '../ts/index.js';
import { WebSocket } from 'ws';
import { clientFor, gatewayFor, rawSocket, sendRaw } from './gateway-helpers.js';
import { waitFor, within } from './manager-helpers.js';

const SECRET = 'correct-horse-battery-staple';

describe('scope patterns', () => {
  it("covers a task name, its noun prefixes in TaskHub's form, and everything with *", () => {
    assert.ok(patternCovers('email', 'email'));
    assert.ok(patternCovers('email', 'email:send'));
    assert.ok(patternCovers('email', 'email/bulk:send'));
    assert.ok(!patternCovers('email', 'emailer:send'));
    assert.ok(patternCovers('email/bulk', 'email/bulk:send'));
    assert.ok(!patternCovers('email/bulk', 'email:send'));
    assert.ok(patternCovers('email:send', 'email:send'));
    assert.ok(!patternCovers('email:send', 'email/bulk:send'));
    assert.ok(patternCovers('*', 'anything'));
  });

  it('lets admin do everything and read only read', () => {
    assert.ok(allows(['admin'], 'serve', 'x'));
    assert.ok(allows(['read'], 'read'));
    assert.ok(!allows(['read'], 'trigger', 'x'));
    assert.ok(!allows(['trigger:*'], 'read'));
    assert.ok(allows(['control:*'], 'control'));
    assert.ok(!allows(['control:email'], 'control'), 'a group needs control:*');
  });

  it('refuses unknown scopes and scopes without a pattern where the credentials are added, naming them', async (t) => {
    const { gateway } = await gatewayFor(t);
    for (const scope of ['write', 'trigger', 'trigger:', '', 42]) {
      assert.throws(() => gateway.addCredentials('x', { key: 'k', scopes: [scope as string] }), (error: unknown) =>
        error instanceof InvalidOptionError && error.option === 'scopes[0]');
    }
    assert.throws(() => gateway.addCredentials('x', { key: '', scopes: [] }), /`key` to be a non-empty string/);
    const longKey = 'k'.repeat(1025);
    assert.throws(() => gateway.addCredentials('x', { key: longKey, scopes: [] }), (error: unknown) =>
      error instanceof InvalidOptionError && /at most 1024 characters.*got 1025 characters/.test(error.message) && !error.message.includes(longKey));
  });
});

describe('scopes at the gateway', () => {
  async function setup(t: Parameters<typeof gatewayFor>[0], scopes: string[]) {
    const manager = new TaskManager();
    manager.addTask(new Task({ name: 'email:send', taskFunction: () => 'sent' }));
    manager.addTask(new Task({ name: 'email/bulk:send', taskFunction: () => 'bulk sent' }));
    manager.addTask(new Task({ name: 'emailer:send', taskFunction: () => 'other' }));
    manager.addConstraintGroup(new TaskConstraintGroup({ name: 'mail', maxConcurrent: 1, constraintKeyForExecution: () => 'k' }));
    const { url } = await gatewayFor(t, { manager, credentials: { limited: { key: SECRET, scopes } } });
    return { manager, client: await clientFor(t, url, { name: 'limited', key: SECRET }) };
  }

  async function refusal(promise: Promise<unknown>): Promise<GatewayRequestError> {
    const error = await promise.then(() => undefined, (caught: unknown) => caught);
    assert.ok(error instanceof GatewayRequestError, `expected a refusal, got ${String(error)}`);
    return error;
  }

  it('refuses each action outside the scopes with FORBIDDEN naming the missing scope, and the connection stays usable', async (t) => {
    const { client } = await setup(t, ['trigger:email']);
    for (const [action, scope] of [
      [() => client.listTasks(), 'read'],
      [() => client.getConstraintGroupStates(), 'read'],
      [() => client.pauseTask('email:send'), 'control:email:send'],
      [() => client.pauseConstraintGroup('mail'), 'control:*'],
      [() => client.trigger('emailer:send').result, 'trigger:emailer:send'],
      [() => client.serve('email:send', () => 1), 'serve:email:send'],
    ] as const) {
      const error = await refusal(action());
      assert.equal(error.code, 'FORBIDDEN');
      assert.equal(error.scope, scope);
      assert.ok(error.message.includes(scope), error.message);
    }
    const subscription = client.subscribe({}, () => {});
    assert.equal((await refusal(subscription.ready)).scope, 'read');
    assert.equal((await refusal(client.watchRun('some-run', () => {}).ready)).code, 'FORBIDDEN');
    assert.equal(await client.trigger('email:send').result, 'sent');
    assert.equal(await client.trigger('email/bulk:send').result, 'bulk sent');
  });

  it('allows what the scopes say: read, control of a pattern, control:* for groups, serve of a pattern', async (t) => {
    const { manager, client } = await setup(t, ['read', 'control:email', 'control:*', 'serve:jobs']);
    assert.equal((await client.listTasks()).length, 3);
    await client.pauseTask('email/bulk:send');
    assert.equal(manager.getTaskByName('email/bulk:send')!.paused, true);
    await client.pauseConstraintGroup('mail');
    assert.equal(manager.getConstraintGroupStates()[0]!.paused, true);
    await client.resumeConstraintGroup('mail');
    const served = await client.serve('jobs:resize', () => 'resized');
    assert.equal(await manager.triggerTaskByName('jobs:resize'), 'resized');
    await served.stop();
  });

  it('lets a client abort the runs it may trigger, and others only with control', async (t) => {
    const { manager, client } = await setup(t, ['trigger:email']);
    manager.addTask(new Task({ name: 'email:wait', taskFunction: (_input: undefined, _setup, context) => new Promise((_resolve, reject) => context.signal.addEventListener('abort', () => reject(context.signal.reason))) }));
    const own = client.trigger('email:wait');
    await own.runId;
    await own.abort('changed my mind');
    await assert.rejects(own.result, /changed my mind/);
    const local = manager.triggerTaskByName('email:wait', undefined, { runId: 'local' }).catch(() => 'aborted');
    await waitFor(() => manager.getActiveRuns().length === 1, 'the local run');
    const error = await refusal((client as any).request({ type: 'abort', runId: 'local' }));
    assert.equal(error.code, 'FORBIDDEN');
    manager.abortRun('local');
    assert.equal(await local, 'aborted');
  });
});

describe('authentication', () => {
  it('rejects connect() on a wrong key with an AuthFailedError that never contains the key', async (t) => {
    const { url } = await gatewayFor(t, { credentials: { ops: { key: SECRET, scopes: ['read'] } } });
    const client = new TaskGatewayClient({ url, name: 'ops', key: 'wrong-key-guess' });
    t.after(() => client.close());
    const error = await client.connect().catch((caught: unknown) => caught);
    assert.ok(error instanceof AuthFailedError);
    assert.equal(error.code, 'AUTH_FAILED');
    assert.ok(!error.message.includes('wrong-key-guess') && !error.message.includes(SECRET));
    assert.equal(client.state, 'closed');
    const unknown = new TaskGatewayClient({ url, name: 'nobody', key: SECRET });
    t.after(() => unknown.close());
    await assert.rejects(unknown.connect(), AuthFailedError);
  });

  it('closes a connection that does not authenticate within authTimeoutMs with 4002', async (t) => {
    const { url } = await gatewayFor(t, { authTimeoutMs: 50 });
    const { closed } = await rawSocket(t, url);
    assert.equal((await within(closed, 'the close')).code, CLOSE_CODES.AUTH_TIMEOUT);
  });

  it('refuses every request before auth and counts it as a bad frame', async (t) => {
    const { url } = await gatewayFor(t, { maxBadFrames: 3 });
    const { socket, frames, closed } = await rawSocket(t, url);
    for (let id = 1; id <= 3; id++) sendRaw(socket, { type: 'list', id });
    assert.equal((await within(closed, 'the close')).code, CLOSE_CODES.TOO_MANY_BAD_FRAMES);
    assert.ok(frames.length >= 2 && frames.every((frame) => frame.ok === false && frame.error.code === 'BAD_FRAME' && /authenticate first/.test(frame.error.message)));
  });

  it('enforces maxConnections per client name', async (t) => {
    const { url } = await gatewayFor(t, { credentials: { single: { key: SECRET, scopes: ['read'], maxConnections: 1 } } });
    await clientFor(t, url, { name: 'single', key: SECRET });
    const second = new TaskGatewayClient({ url, name: 'single', key: SECRET });
    t.after(() => second.close());
    const error = await second.connect().catch((caught: unknown) => caught);
    assert.ok(error instanceof AuthFailedError);
    assert.match(String((error as Error).message), /maxConnections/);
  });

  it('slows down repeated failed logins for one client from one address, and a valid login of another client does not reset it', async (t) => {
    const { url } = await gatewayFor(t, { credentials: { ops: { key: SECRET, scopes: ['read'] } } });
    const timeOf = async (): Promise<number> => {
      const started = Date.now();
      const client = new TaskGatewayClient({ url, name: 'ops', key: 'guess' });
      await client.connect().catch(() => {});
      return Date.now() - started;
    };
    for (let i = 0; i < 3; i++) assert.ok((await timeOf()) < 200, 'the first failures are answered at once');
    await clientFor(t, url); // admin logs in from the same address
    assert.ok((await timeOf()) >= 240, 'the fourth waits');
    assert.ok((await timeOf()) >= 490, 'the fifth waits twice as long');
    await clientFor(t, url, { name: 'ops', key: SECRET }); // the right key still gets in (after its wait)
  });

  it('closes the connections of removed credentials with 4004', async (t) => {
    const { gateway, url } = await gatewayFor(t, { credentials: { temp: { key: SECRET, scopes: ['read'] } } });
    const client = await clientFor(t, url, { name: 'temp', key: SECRET }, { reconnect: false });
    assert.equal(gateway.removeCredentials('temp'), true);
    await waitFor(() => client.state === 'closed', 'the close');
    const again = new TaskGatewayClient({ url, name: 'temp', key: SECRET });
    t.after(() => again.close());
    await assert.rejects(again.connect(), AuthFailedError);
  });
});

describe('bad input', () => {
  it('answers malformed frames with an error frame that says what was wrong, and closes after maxBadFrames with 4003', async (t) => {
    const { url } = await gatewayFor(t, { maxBadFrames: 5 });
    const { socket, frames, closed } = await rawSocket(t, url);
    sendRaw(socket, { type: 'auth', id: 1, name: 'admin', key: 'admin-key-1234' });
    await waitFor(() => frames.length === 1, 'the auth reply');
    sendRaw(socket, 'not json {');
    sendRaw(socket, { type: 'fly', id: 2 });
    sendRaw(socket, { type: 'trigger', id: 3, runId: 'r', taskName: 42 });
    sendRaw(socket, { type: 'watch', id: 4, runId: 'r', extra: true });
    await waitFor(() => frames.length === 5, 'four error frames');
    const [, notJson, unknownType, wrongField, extraField] = frames;
    assert.match(notJson.error.message, /not JSON/);
    assert.match(unknownType.error.message, /unknown frame type "fly"/);
    assert.equal(unknownType.id, 2);
    assert.match(wrongField.error.message, /`taskName` must be a non-empty string.*got 42/);
    assert.match(extraField.error.message, /unknown field "extra"/);
    socket.send(Buffer.from([1, 2, 3]), { binary: true });
    assert.equal((await within(closed, 'the close')).code, CLOSE_CODES.TOO_MANY_BAD_FRAMES);
  });

  it('refuses a frame nested deeper than 128 levels before parsing it', async (t) => {
    const { url } = await gatewayFor(t);
    const { socket, frames } = await rawSocket(t, url);
    sendRaw(socket, { type: 'auth', id: 1, name: 'admin', key: 'admin-key-1234' });
    sendRaw(socket, `{"type":"list","id":2,"deep":${'['.repeat(129)}${']'.repeat(129)}}`);
    sendRaw(socket, `{"type":"list","id":3,"text":"${'['.repeat(200)}"}`);
    await waitFor(() => frames.length === 3, 'three answers');
    assert.match(frames[1].error.message, /deeper than 128 levels/);
    assert.match(frames[2].error.message, /unknown field "text"/, 'brackets inside strings do not count');
  });

  it('closes a connection that sends a frame over maxPayloadBytes with 1009', async (t) => {
    const { url } = await gatewayFor(t, { maxPayloadBytes: 1024 });
    const { socket, closed } = await rawSocket(t, url);
    sendRaw(socket, { type: 'auth', id: 1, name: 'x'.repeat(2000), key: 'k' });
    assert.equal((await within(closed, 'the close')).code, CLOSE_CODES.TOO_BIG);
  });

  it('refuses an upgrade from an origin outside allowedOrigins, and lets allowed ones and non-browsers in', async (t) => {
    const { url } = await gatewayFor(t, { allowedOrigins: ['https://ops.example.com'] });
    await assert.rejects(rawSocket(t, url, { origin: 'https://evil.example.com' }), /403/);
    await rawSocket(t, url, { origin: 'https://ops.example.com' });
    await rawSocket(t, url);
  });

  it('holds at most 256 subscriptions per connection and refuses the next, naming the limit', async (t) => {
    const { url } = await gatewayFor(t);
    const client = await clientFor(t, url);
    await Promise.all(Array.from({ length: 256 }, () => client.subscribe({}, () => {}).ready));
    const error = await client.subscribe({}, () => {}).ready.catch((caught: unknown) => caught);
    assert.ok(error instanceof GatewayRequestError);
    assert.match(error.message, /at most 256 subscriptions/);
  });

  it('closes a connection that does not answer its pings, and keeps one that does', async (t) => {
    const { url } = await gatewayFor(t, { heartbeatMs: 50 });
    const deaf = new WebSocket(url, { autoPong: false });
    t.after(() => deaf.terminate());
    const deafClosed = new Promise<number>((resolve) => deaf.on('close', (code) => resolve(code)));
    const client = await clientFor(t, url);
    await within(deafClosed, 'the close of the connection that never answers');
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(client.state, 'open');
    assert.ok((await client.listTasks()).length >= 0);
  });

  it('refuses bad options where the gateway is made, naming them', () => {
    const manager = new TaskManager();
    assert.throws(() => new TaskGateway({ manager, port: 70000 }), /`port` to be an integer from 0 to 65535, got 70000/);
    assert.throws(() => new TaskGateway({ manager: {} as TaskManager }), /`manager` to be a TaskManager/);
    assert.throws(() => new TaskGateway({ manager, authTimeout: 5 } as never), /unknown option "authTimeout"/);
    assert.throws(() => new TaskGateway({ manager, path: 'ws' }), /`path` to be a URL path/);
  });
});
