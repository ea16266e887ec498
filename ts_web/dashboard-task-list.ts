import { html, type TemplateResult } from 'lit';
import { guard } from 'lit/directives/guard.js';
import { repeat } from 'lit/directives/repeat.js';
import { styleMap } from 'lit/directives/style-map.js';
import type { ActionsController } from './actions-controller.js';
import type { THistoryToggleHandler } from './dashboard-history.js';
import { renderTask } from './dashboard-task.js';
import type { MinuteMetrics } from './minute-metrics.js';
import type { ITaskView } from './task-view.js';
import type { IVirtualWindow } from './virtual-window.js';

/**
 * The task grid as a virtual list: the `ul` is as tall as all cards would be, and only the
 * cards in `window` are in it, pushed down by padding. A card re-renders only when its
 * task's revision changed, its history was opened or closed, the actions allowed or selected changed, or a minute passed (`guard`),
 * so an event touches one card, not every card on screen. A task in `orphans` (no live instance of the cluster has it) gets a badge.
 */
export function renderTaskList(
  visible: readonly ITaskView[],
  window: IVirtualWindow,
  openHistories: ReadonlySet<string>,
  onHistoryToggle: THistoryToggleHandler,
  metricsOf: (name: string) => MinuteMetrics | undefined,
  actions: ActionsController,
  orphans?: Pick<ReadonlySet<string>, 'has'>,
): TemplateResult {
  const shown = visible.slice(window.start, window.end);
  // Sparklines move on each minute even for a task with no new event: a new minute re-renders the cards on screen, once.
  const minute = Math.floor(Date.now() / 60_000);
  return html`<ul class="tasks" part="tasks" aria-label="Tasks"
      style=${styleMap({ height: `${window.totalHeight}px`, paddingTop: `${window.offsetTop}px` })}>
      ${repeat(
        shown,
        (view) => view.name,
        (view, index) => {
          const open = openHistories.has(view.name);
          const position = window.start + index + 1;
          const orphan = orphans?.has(view.name) === true;
          // The actions' revision: what is allowed or selected changed.
          return guard([view, view.revision, open, position, visible.length, minute, actions.revision, orphan], () =>
            renderTask(view, open, onHistoryToggle, position, visible.length, metricsOf(view.name), actions, orphan));
        },
      )}
    </ul>`;
}
