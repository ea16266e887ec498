import { html, nothing, type TemplateResult } from 'lit';
import type { ClusterController, IDashboardInstance } from './cluster-controller.js';
import { formatDuration, formatInstant } from './format.js';

/**
 * The cluster: one box per live instance with its id, `host:pid`, since when it is up, how
 * old its last heartbeat is (late ones in the warning colour), what it runs now and how many
 * tasks it has. A failed read says why above the instances last read, which stay. Every
 * name is bound as text, never as markup.
 */
export function renderCluster(cluster: ClusterController, now: number): TemplateResult {
  const { instances, readAt, error } = cluster;
  return html`<section class="cluster" part="cluster" aria-label="Cluster">
      <div class="cluster-head">
        <h3>Cluster</h3>
        <span class="cluster-count">${readAt === undefined
          ? (error === undefined ? 'reading the instances…' : '')
          : `${instances.length} live ${instances.length === 1 ? 'instance' : 'instances'}`}</span>
        ${error === undefined
          ? nothing
          : html`<span class="cluster-error" role="status">${error}</span>${readAt === undefined
            ? nothing
            : html`<span class="cluster-stale">showing what was read ${formatAge(now - readAt)} ago</span>`}`}
      </div>
      <ul class="instances" aria-label="Live instances" tabindex="0">
        ${instances.map((instance) => renderInstance(instance, cluster.isLate(instance), now))}
      </ul>
    </section>`;
}

function renderInstance(instance: IDashboardInstance, late: boolean, now: number): TemplateResult {
  const hostPid = `${instance.host}:${instance.pid}`;
  // Late is said in words too, not by its colour alone.
  const heartbeat = `heartbeat ${formatAge(now - instance.lastHeartbeat)} ago${late ? ', late' : ''}`;
  const running = instance.runningTasks.length === 0 ? 'runs nothing now' : `running ${instance.runningTasks.join(', ')}`;
  const tasks = instance.tasks === undefined
    ? 'tasks not reported'
    : `${instance.tasks.length} ${instance.tasks.length === 1 ? 'task' : 'tasks'}`;
  return html`<li class="instance" data-instance=${instance.instanceId} ?data-self=${instance.self === true} ?data-late=${late}>
      <div class="instance-head">
        <span class="instance-id">${instance.instanceId}</span>
        ${instance.self === true ? html`<span class="badge" data-badge="self" title="The instance whose gateway this page is connected to">gateway</span>` : nothing}
      </div>
      <div class="instance-facts">
        <span class="instance-host">${hostPid}</span>
        <span class="instance-since" title=${`joined ${formatDuration(now - instance.startedAt)} ago`}>up since ${formatInstant(instance.startedAt, now)}</span>
        <span class="instance-heartbeat" ?data-late=${late}>${heartbeat}</span>
      </div>
      <div class="instance-running" title=${running} ?data-idle=${instance.runningTasks.length === 0}>${running}</div>
      <div class="instance-tasks">${tasks}</div>
    </li>`;
}

/** Whole seconds up to a minute (`0 s`, `2 s`), as a clock ticks; longer as `formatDuration` says it. */
function formatAge(ms: number): string {
  const age = Math.max(0, ms);
  return age < 60_000 ? `${Math.floor(age / 1000)} s` : formatDuration(age);
}
