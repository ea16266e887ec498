import { html, nothing, type TemplateResult } from 'lit';
import { live } from 'lit/directives/live.js';
import type { ActionsController } from './actions-controller.js';

/**
 * The action controls: a card's buttons, the selection bar, the confirmation dialog and the
 * status line. Shown only for what the actions layer allows; with no layer, nothing at all.
 * Buttons that do not apply right now (abort while nothing runs) are disabled, not removed,
 * so that a card keeps its shape while live.
 */
export function renderCardActions(actions: ActionsController, name: string, status: string, paused: boolean): TemplateResult | typeof nothing {
  if (!actions.any) return nothing;
  const can = (action: 'trigger' | 'retry' | 'abort' | 'pause') => actions.can(action, name);
  return html`<div class="card-actions" role="group" aria-label=${`Actions on ${name}`}>
      <input type="checkbox" class="select" data-task=${name} aria-label=${`Select ${name}`}
        .checked=${live(actions.selected.has(name))} @change=${actions.onSelect} />
      ${can('trigger') ? html`<button type="button" class="act" data-action="trigger" data-task=${name} @click=${actions.onAction}>Run…</button>` : nothing}
      ${can('retry') ? html`<button type="button" class="act" data-action="retry" data-task=${name} @click=${actions.onAction} ?disabled=${status !== 'failed'}>Retry…</button>` : nothing}
      ${can('abort') ? html`<button type="button" class="act" data-action="abort" data-task=${name} @click=${actions.onAction} ?disabled=${status !== 'running'}>Abort…</button>` : nothing}
      ${can('pause')
        ? html`<button type="button" class="act" data-action=${paused ? 'resume' : 'pause'} data-task=${name} @click=${actions.onAction}>${paused ? 'Resume…' : 'Pause…'}</button>`
        : nothing}
    </div>`;
}

/** The bar that acts on every selected task at once; always the same size while it is there. */
export function renderBulkBar(actions: ActionsController, shownNames: readonly string[]): TemplateResult | typeof nothing {
  if (!actions.any) return nothing;
  const count = actions.selected.size;
  const none = count === 0;
  return html`<div class="bulk" part="bulk" role="toolbar" aria-label="Selected tasks">
      <span class="bulk-count" data-count="selected">${count} selected</span>
      ${actions.can('trigger') ? html`<button type="button" data-bulk="trigger" ?disabled=${none} @click=${actions.onBulk}>Run…</button>` : nothing}
      ${actions.can('pause')
        ? html`<button type="button" data-bulk="pause" ?disabled=${none} @click=${actions.onBulk}>Pause…</button>
            <button type="button" data-bulk="resume" ?disabled=${none} @click=${actions.onBulk}>Resume…</button>`
        : nothing}
      ${actions.can('abort') ? html`<button type="button" data-bulk="abort" ?disabled=${none} @click=${actions.onBulk}>Abort…</button>` : nothing}
      <button type="button" data-bulk="select-shown" ?disabled=${shownNames.length === 0} @click=${() => actions.selectAll(shownNames)}>Select shown</button>
      <button type="button" data-bulk="clear" ?disabled=${none} @click=${actions.onBulk}>Clear</button>
    </div>`;
}

/** The confirmation: nothing happens until its button is pressed; Escape or Cancel closes it. */
export function renderDialog(actions: ActionsController): TemplateResult | typeof nothing {
  const dialog = actions.dialog;
  if (dialog === undefined) return nothing;
  const input = dialog.input;
  const invalid = input?.error !== undefined;
  return html`<div class="dialog-backdrop" @keydown=${(event: KeyboardEvent) => onDialogKey(event, actions)}>
      <div class="dialog" part="dialog" role="dialog" aria-modal="true" aria-labelledby="tb-dialog-title" aria-describedby="tb-dialog-message"
        data-dialog=${dialog.id}>
        <h3 id="tb-dialog-title">${dialog.title}</h3>
        <p id="tb-dialog-message">${dialog.message}</p>
        ${input === undefined
          ? nothing
          : html`<label class="json-input">Input (JSON)
              <textarea name="input" rows="6" spellcheck="false" aria-invalid=${invalid ? 'true' : 'false'} aria-describedby="tb-input-error"
                .value=${live(input.text)} @input=${actions.onInput}></textarea>
            </label>
            <p id="tb-input-error" class="input-error" role="alert">${input.error ?? ''}</p>`}
        <div class="dialog-buttons">
          <button type="button" class="cancel" @click=${actions.onCancel}>Cancel</button>
          <button type="button" class="confirm" ?disabled=${invalid} @click=${actions.onConfirm}>${dialog.confirmLabel}</button>
        </div>
      </div>
    </div>`;
}

/** Escape closes; Tab and Shift+Tab stay inside the dialog (it is modal: the page behind is not reachable). */
function onDialogKey(event: KeyboardEvent, actions: ActionsController): void {
  if (event.key === 'Escape') {
    event.stopPropagation();
    actions.onCancel();
    return;
  }
  if (event.key !== 'Tab') return;
  const dialog = (event.currentTarget as HTMLElement).querySelector('.dialog')!;
  const focusable = [...dialog.querySelectorAll<HTMLElement>('textarea, button:not([disabled])')];
  const root = dialog.getRootNode() as ShadowRoot;
  const index = focusable.indexOf(root.activeElement as HTMLElement);
  const next = event.shiftKey ? (index <= 0 ? focusable.length - 1 : index - 1) : (index + 1) % focusable.length;
  event.preventDefault();
  focusable[next]?.focus();
}

/**
 * The outcomes of the last actions, newest last; read out by screen readers as they change.
 * There whenever an actions layer is: the queue view reports through it as well, also for
 * a layer that allows no task-wide action.
 */
export function renderToasts(actions: ActionsController): TemplateResult | typeof nothing {
  if (actions.layer === undefined) return nothing;
  return html`<div class="toasts" part="toasts" role="status" aria-live="polite">
      ${actions.toasts.map((toast) => html`<div class="toast" data-outcome=${toast.outcome} data-toast=${toast.id}>${toast.text}</div>`)}
    </div>`;
}
