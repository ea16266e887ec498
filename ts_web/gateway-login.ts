import { css, html, LitElement, nothing, type TemplateResult } from 'lit';
import { TaskGatewayClient } from 'taskbuffer/client';
import { themeStyles } from './dashboard-theme.styles.js';
import './taskbuffer-dashboard.js';

/** The name of the last sign-in is kept (never the key), so that a reload asks only for the key. */
const NAME_STORAGE_KEY = 'taskbuffer-gateway-name';

/**
 * @summary The page a TaskGateway serves with `dashboard: true`: asks for a client name and
 * key, connects to the gateway it came from, and shows `<taskbuffer-dashboard>` over that
 * connection (with the queue and the cluster when the gateway has them). The key stays in
 * memory only; "Sign out" closes the connection.
 */
export class TaskbufferGatewayLogin extends LitElement {
  static override styles = [themeStyles, css`
    form { display: grid; gap: 10px; max-width: 22em; margin: 10vh auto; padding: 20px; background: var(--tb-surface); border: 1px solid var(--tb-border); border-radius: var(--tb-radius); }
    h1 { margin: 0 0 6px; font-size: 1.3em; font-weight: 600; }
    label { display: grid; gap: 4px; color: var(--tb-text-muted); }
    input, button { font: inherit; padding: 6px 8px; border-radius: calc(var(--tb-radius) - 2px); border: 1px solid var(--tb-control-border); background: var(--tb-surface); color: var(--tb-text); }
    button { cursor: pointer; background: var(--tb-accent); border-color: var(--tb-accent); color: var(--tb-on-accent); }
    button:disabled { opacity: 0.6; cursor: progress; }
    :focus-visible { outline: 2px solid var(--tb-accent); outline-offset: 1px; }
    .problem { color: var(--tb-danger); margin: 0; }
    .bar { display: flex; justify-content: flex-end; }
    .bar button { background: var(--tb-surface); color: var(--tb-text); border-color: var(--tb-control-border); }
  `];

  static override properties = {
    path: { type: String },
    heading: { type: String },
    client: { state: true },
    problem: { state: true },
    busy: { state: true },
  };

  /** The gateway's websocket path, e.g. `/taskbuffer`. */
  declare path: string;
  /** The dashboard's title. */
  declare heading: string;
  declare client: TaskGatewayClient | undefined;
  declare problem: string | undefined;
  declare busy: boolean;

  constructor() {
    super();
    this.path = '/taskbuffer';
    this.heading = 'taskbuffer';
    this.client = undefined;
    this.problem = undefined;
    this.busy = false;
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.signOut();
  }

  protected override render(): TemplateResult {
    const client = this.client;
    if (client !== undefined) {
      return html`<div class="bar"><button type="button" @click=${this.signOut}>Sign out</button></div>
        <taskbuffer-dashboard .client=${client} heading=${this.heading}></taskbuffer-dashboard>`;
    }
    return html`<form @submit=${this.onSubmit} aria-label="Sign in to the gateway">
        <h1>${this.heading}</h1>
        <label>Client name <input name="name" autocomplete="username" required .value=${readName()}></label>
        <label>Key <input name="key" type="password" autocomplete="current-password" required></label>
        ${this.problem === undefined ? nothing : html`<p class="problem" role="alert">${this.problem}</p>`}
        <button type="submit" ?disabled=${this.busy}>${this.busy ? 'Signing in…' : 'Sign in'}</button>
      </form>`;
  }

  private readonly onSubmit = async (event: Event): Promise<void> => {
    event.preventDefault();
    const form = new FormData(event.target as HTMLFormElement);
    const name = String(form.get('name') ?? '');
    const key = String(form.get('key') ?? '');
    this.busy = true;
    this.problem = undefined;
    try {
      const client = new TaskGatewayClient({ url: gatewayUrl(this.path), name, key });
      await client.connect();
      // Removed from the page while it signed in: nothing would ever close this connection.
      if (!this.isConnected) return client.close();
      writeName(name);
      this.client = client;
    } catch (error) {
      this.problem = error instanceof Error ? error.message : String(error);
    } finally {
      this.busy = false;
    }
  };

  private readonly signOut = (): void => {
    this.client?.close();
    this.client = undefined;
  };
}

/** The websocket URL of the gateway this page came from. */
function gatewayUrl(path: string): string {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${path}`;
}

function readName(): string {
  try {
    return localStorage.getItem(NAME_STORAGE_KEY) ?? '';
  } catch {
    return ''; // storage may be off
  }
}

function writeName(name: string): void {
  try {
    localStorage.setItem(NAME_STORAGE_KEY, name);
  } catch {
    // storage may be off: the name is asked again next time
  }
}

if (typeof customElements !== 'undefined' && customElements.get('taskbuffer-gateway-login') === undefined) {
  customElements.define('taskbuffer-gateway-login', TaskbufferGatewayLogin);
}
