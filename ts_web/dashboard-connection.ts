import { html, nothing, type TemplateResult } from 'lit';
import type { IConnectionView } from './remote-connection.js';

const WORDS: Record<IConnectionView['state'], string> = {
  idle: 'not connected',
  connecting: 'connecting…',
  open: 'connected',
  reconnecting: 'reconnecting…',
  closed: 'disconnected',
};

/**
 * The connection light of a remote dashboard: the client's state in words (a live region,
 * so that a screen reader hears a lost connection), the gateway's URL, and what went wrong.
 */
export function renderConnection(view: IConnectionView | undefined): TemplateResult | typeof nothing {
  if (view === undefined) return nothing;
  return html`<div class="connection" part="connection" data-state=${view.state} role="status" aria-live="polite">
      <span class="connection-dot" aria-hidden="true"></span>
      <span class="connection-state">${WORDS[view.state]}</span>
      ${view.url === undefined ? nothing : html`<code class="connection-url">${view.url}</code>`}
      ${view.problem === undefined ? nothing : html`<span class="connection-problem">${view.problem}</span>`}
    </div>`;
}
