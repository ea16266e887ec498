/**
 * `taskbuffer/gateway`: a websocket gateway to a TaskManager, with scoped credentials
 * (Node only; needs the optional peer dependency ws). This entry point only names what
 * the package offers; the parts live in the files named below.
 */
export { TaskGateway } from './taskgateway.js';
export type { IGatewayAddress } from './taskgateway.js';
export type { ITaskGatewayOptions } from './gatewayoptions.js';
export type { ICredentialsOptions } from './credentials.js';
export type { IRemoteTaskOptions } from './remoteworkers.js';
export { NoWorkerError, WorkerLostError, GatewayStateError, DashboardUnavailableError } from './gatewayerrors.js';
export { MissingDependencyError } from '../coordinator/errors.js';
export { allows, patternCovers, scopeProblem } from '../remote/scopes.js';
export type { TAction, TScopedAction } from '../remote/scopes.js';
export { CLOSE_CODES, PROTOCOL_VERSION } from '../remote/protocol.js';
