/**
 * The dashboard's virtual list arithmetic and its memory bounds, without a browser
 * (test/dashboard.browser.test.ts checks the same in Chromium, with real scrolling).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Task, TaskManager } from 'taskbuffer';
import { MAX_TOTAL_RUNS, TaskManagerController } from '../ts_web/taskmanager-controller.js';
import { computeWindow, countTracks } from '../ts_web/virtual-window.js';

const metrics = { columns: 4, rowHeight: 200, rowGap: 10 };

describe('computeWindow', () => {
  it('renders whole rows from the one the viewport starts in to the one it ends in, overscan included', () => {
    // Rows are 210 px apart; the viewport shows 500–900 px of the list, plus 100 px either side.
    assert.deepEqual(computeWindow(1000, metrics, { top: 500, bottom: 900 }, 100), { start: 4, end: 20, offsetTop: 210, totalHeight: 250 * 210 - 10 });
  });

  it('renders nothing when the list is entirely above or below the viewport, but keeps its full height', () => {
    assert.deepEqual(computeWindow(100, metrics, { top: -2000, bottom: -1000 }, 100), { start: 0, end: 0, offsetTop: 0, totalHeight: 25 * 210 - 10 });
    assert.equal(computeWindow(100, metrics, { top: 9000, bottom: 9900 }, 100).end, 0);
  });

  it('never renders past the last card, and an empty list has no height', () => {
    assert.deepEqual(computeWindow(6, metrics, { top: 0, bottom: 5000 }, 0), { start: 0, end: 6, offsetTop: 0, totalHeight: 410 });
    assert.deepEqual(computeWindow(0, metrics, { top: 0, bottom: 900 }, 0), { start: 0, end: 0, offsetTop: 0, totalHeight: 0 });
  });

  it('counts the tracks of a resolved grid-template-columns, and at least one', () => {
    assert.equal(countTracks('301.5px 301.5px 301.5px'), 3);
    assert.equal(countTracks('none'), 1);
  });
});

describe('TaskManagerController history bounds', () => {
  const host = { addController() {}, removeController() {}, requestUpdate() {}, updateComplete: Promise.resolve(true) };

  it('keeps historySize runs per task, and fewer per task when that many for every task would pass MAX_TOTAL_RUNS', async () => {
    const manager = new TaskManager();
    const controller = new TaskManagerController(host, { historySize: 20, refreshInterval: 0 });
    controller.setManager(manager);
    controller.hostConnected();
    try {
      manager.addTask(new Task({ name: 'first', taskFunction: async () => undefined }));
      for (let run = 0; run < 30; run++) await manager.triggerTaskByName('first');
      controller.reload();
      assert.equal(controller.tasks.get('first')!.runs.length, 20);
      const count = MAX_TOTAL_RUNS / 5; // 5 runs each at most
      for (let i = 0; i < count; i++) manager.addTask(new Task({ name: `t-${i}`, taskFunction: async () => undefined }));
      controller.reload();
      assert.equal(controller.effectiveHistorySize, 4);
      assert.equal(controller.tasks.get('first')!.runs.length, 4, 'the long history was trimmed as tasks were added');
      const total = [...controller.tasks.values()].reduce((sum, view) => sum + view.runs.length, 0);
      assert.ok(total <= MAX_TOTAL_RUNS, `runs kept in total: ${total}`);
    } finally {
      controller.hostDisconnected();
    }
  });
});
