import type { CredentialStore, ICredential } from './credentials.js';
import type { EventRouter } from './eventrouter.js';
import type { IGatewaySettings } from './gatewayoptions.js';
import type { GatewayRuns } from './gatewayruns.js';
import type { LoginThrottle } from './loginthrottle.js';
import type { RemoteWorkers } from './remoteworkers.js';
import type { IServingConnection } from './servedtask.js';
import type { TServerFrame } from '../remote/protocol.js';
import type { TAction } from '../remote/scopes.js';

/** What a connection uses of its gateway: the gateway's parts, and its count of connections. */
export interface IGatewayServices {
  readonly settings: IGatewaySettings;
  readonly credentials: CredentialStore;
  readonly throttle: LoginThrottle;
  readonly router: EventRouter;
  readonly workers: RemoteWorkers;
  readonly runs: GatewayRuns;
  /** Open, authenticated connections with `credential`'s name. */
  connectionCount(credential: ICredential): number;
  connectionClosed(connection: IClientConnection): void;
}

/** An authenticated client's connection, as the request handlers use it. */
export interface IClientConnection extends IServingConnection {
  readonly services: IGatewayServices;
  readonly credential: ICredential | undefined;
  /** What the ids of its triggers must start with. */
  readonly runPrefix: string;
  /** Cleanup of each subscription, by the client's number for it. */
  readonly subscriptions: Map<number, () => void>;
  /** Cleanup of each run watch (its own triggers' included), by run id. */
  readonly watches: Map<string, () => void>;
  send(frame: TServerFrame): void;
  /** Sends text that is a frame already (events are made JSON once for every connection). */
  sendText(text: string): void;
  reply(id: number, value?: unknown): void;
  refuse(id: number | undefined, code: string, message: string, scope?: string): void;
  /** Whether the connection's scopes allow `action`; if not, the request `id` is refused naming the missing scope. */
  may(id: number, action: TAction, taskName?: string): boolean;
}
