/**
 * The dashboard's waits view and actions without a browser: the words for each wait, the
 * timeline per key (bounded), the JSON input check and the `actions` attribute.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Task, TaskConstraintGroup, TaskManager } from '../ts/index.js';
import { parseActions } from '../ts_web/dashboard-actions.js';
import { GroupWatch, WAITING_LISTED } from '../ts_web/group-watch.js';
import { parseJsonInput } from '../ts_web/json-input.js';
import { KeyTimeline, MAX_OPEN_RUNS, MAX_SEGMENTS, TIMELINE_MIN_SPAN_MS, TIMELINE_WINDOW_MS } from '../ts_web/key-timeline.js';
import { describeRefusal, describeWait, describeWaitingRun } from '../ts_web/wait-words.js';

const NOW = Date.UTC(2026, 0, 1, 12);

describe('describeWait', () => {
  it('says each kind of wait in words', () => {
    const holders = [{ runId: '42', taskName: 'sync-acme', since: NOW - 3200 }];
    assert.equal(describeWait({ kind: 'held', groupName: 'tenant', key: 'acme', holders }, NOW), 'held by run 42 of sync-acme for 3.2 s');
    assert.equal(describeWait({ kind: 'held', groupName: 'tenant', key: 'acme', holders: [...holders, { runId: '7', taskName: 'x' }] }, NOW),
      'held by run 42 of sync-acme for 3.2 s + 1 more');
    assert.equal(describeWait({ kind: 'held', groupName: 'tenant', key: 'acme', holders: [] }, NOW), 'held (slot taken by hand) on acme');
    assert.equal(describeWait({ kind: 'cap', groupName: 'g', key: 'example.com', running: 2, max: 2, holders }, NOW), 'cap 2/2 reached on example.com');
    assert.equal(describeWait({ kind: 'cooldown', groupName: 'g', key: 'k', remainingMs: 3200 }, NOW), 'cooldown 3.2 s');
    assert.equal(describeWait({ kind: 'queued', groupName: 'g', key: 'k' }, NOW), 'next in line for k');
    assert.equal(describeWait({ kind: 'group-paused', groupName: 'reports' }, NOW), 'group reports paused');
    assert.equal(describeWait({ kind: 'task-paused' }, NOW), 'task paused');
    assert.equal(describeWait({ kind: 'cluster-slot', groupName: 'g', key: 'k' }, NOW), 'waiting for a cluster slot of g (k)');
    assert.equal(describeWait({ kind: 'should-execute' }, NOW), 'shouldExecute is deciding');
    assert.equal(describeWait({ kind: 'from-the-future' } as never, NOW), 'waiting (from-the-future)');
  });

  it('names the run, a retry and its place in line; a refusal with its age', () => {
    assert.equal(describeWaitingRun({ taskName: 't', runId: 'r', priority: 0, ahead: 2, retry: true, reason: { kind: 'task-paused' } }, NOW),
      't (run r, retry, 2 ahead): task paused');
    assert.equal(describeWaitingRun({ taskName: 't', priority: 0, ahead: 0, retry: false, reason: { kind: 'task-paused' } }, NOW), 't: task paused');
    assert.equal(describeRefusal({ taskName: 'charge', runId: 'pay-7', at: NOW - 5000 }, NOW), 'shouldExecute said no to run pay-7 of charge, 5.0 s ago');
  });
});

describe('KeyTimeline', () => {
  const group = (holders: Array<{ runId: string; taskName: string; since?: number }>, cooldownMs = 0) =>
    [{ name: 'g', cooldownMs, keys: [{ key: 'k', holders }] }];

  it('puts a run on the line of the key it was seen holding, ends it with its outcome, and adds the cooldown after it', () => {
    const timeline = new KeyTimeline();
    timeline.started('r1', 'sync', NOW);
    timeline.observe(group([{ runId: 'r1', taskName: 'sync', since: NOW }], 2000), NOW + 10);
    timeline.observe(group([{ runId: 'r1', taskName: 'sync', since: NOW }], 2000), NOW + 20); // seen again: one bar
    timeline.ended('r1', 'failed', NOW + 500);
    assert.deepEqual(timeline.segmentsSince(NOW + 600), [
      { groupName: 'g', key: 'k', kind: 'failed', start: NOW, end: NOW + 500, runId: 'r1', taskName: 'sync' },
      { groupName: 'g', key: 'k', kind: 'cooldown', start: NOW + 500, end: NOW + 2500 },
    ]);
    assert.equal(timeline.openRuns, 0);
  });

  it('a run seen holding before its start event starts at its "since"; a stale holder after the end adds nothing', () => {
    const timeline = new KeyTimeline();
    timeline.observe(group([{ runId: 'late', taskName: 't', since: NOW - 100 }]), NOW);
    timeline.ended('late', 'completed', NOW + 50);
    timeline.observe(group([{ runId: 'late', taskName: 't', since: NOW - 100 }]), NOW + 60);
    assert.deepEqual(timeline.segmentsSince(NOW + 60).map((segment) => [segment.kind, segment.start, segment.end]), [['completed', NOW - 100, NOW + 50]]);
  });

  it('shows the time watched so far, at least TIMELINE_MIN_SPAN_MS, at most the window', () => {
    const timeline = new KeyTimeline();
    assert.equal(timeline.spanAt(NOW), TIMELINE_MIN_SPAN_MS);
    timeline.observe([], NOW);
    assert.equal(timeline.spanAt(NOW + 5000), TIMELINE_MIN_SPAN_MS);
    assert.equal(timeline.spanAt(NOW + 90_000), 90_000);
    assert.equal(timeline.spanAt(NOW + 3_600_000), TIMELINE_WINDOW_MS);
  });

  it('forgets what ended before the window, and keeps at most MAX_SEGMENTS and MAX_OPEN_RUNS', () => {
    const timeline = new KeyTimeline();
    timeline.started('old', 't', NOW);
    timeline.observe(group([{ runId: 'old', taskName: 't', since: NOW }]), NOW);
    timeline.ended('old', 'completed', NOW + 1);
    timeline.observe([], NOW + TIMELINE_WINDOW_MS + 2);
    assert.equal(timeline.size, 0);
    for (let i = 0; i < MAX_SEGMENTS + 10; i++) {
      timeline.started(`r${i}`, 't', NOW);
      timeline.observe(group([{ runId: `r${i}`, taskName: 't', since: NOW }]), NOW);
    }
    assert.equal(timeline.size, MAX_SEGMENTS);
    assert.ok(timeline.openRuns <= MAX_OPEN_RUNS);
    for (let i = 0; i < MAX_OPEN_RUNS * 2; i++) timeline.started(`never-ends-${i}`, 't', NOW);
    assert.equal(timeline.openRuns, MAX_OPEN_RUNS);
  });
});

describe('the JSON input and the actions attribute', () => {
  it('takes empty input as none, JSON as its value, and names what is wrong otherwise', () => {
    assert.deepEqual(parseJsonInput('  '), { value: undefined, error: undefined });
    assert.deepEqual(parseJsonInput('{"a": [1, null]}'), { value: { a: [1, null] }, error: undefined });
    assert.deepEqual(parseJsonInput('"text"'), { value: 'text', error: undefined });
    const bad = parseJsonInput('{a: 1}');
    assert.equal(bad.value, undefined);
    assert.match(bad.error!, /^not valid JSON: /);
  });

  it('enables the named actions, all of them for "all", none for "" or unknown words', () => {
    assert.deepEqual([...parseActions('trigger, abort pause')], ['trigger', 'abort', 'pause']);
    assert.deepEqual([...parseActions('ALL')], ['trigger', 'retry', 'abort', 'pause']);
    assert.deepEqual([...parseActions('')], []);
    assert.deepEqual([...parseActions(undefined)], []);
    assert.deepEqual([...parseActions('delete everything')], []);
  });
});

describe('GroupWatch', () => {
  it('lists at most WAITING_LISTED waiting runs, and still counts every run waiting in a key', async (t) => {
    const manager = new TaskManager();
    t.after(() => manager.stop());
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    manager.addTask(new Task({ name: 'burst', taskFunction: () => gate }));
    manager.addConstraintGroup(new TaskConstraintGroup({ name: 'one', maxConcurrent: 1, constraintKeyForExecution: () => 'k' }));
    const runs = Array.from({ length: 1000 }, () => manager.triggerTaskByName('burst'));
    const watch = new GroupWatch();
    watch.read(manager, NOW);
    assert.equal(watch.waiting.length, WAITING_LISTED + 1);
    assert.equal(watch.waitingTruncated, true);
    assert.equal(watch.waitingCount, 999);
    assert.deepEqual(watch.groups[0]!.keys[0]!.holders.map((holder) => holder.taskName), ['burst']);
    release();
    await Promise.all(runs);
    watch.read(manager, NOW);
    assert.deepEqual([watch.waiting.length, watch.waitingTruncated, watch.waitingCount], [0, false, 0]);
  });
});
