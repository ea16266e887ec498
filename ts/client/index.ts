/**
 * `taskbuffer/client`: a client of a TaskGateway, for browsers and Node (the platform's
 * WebSocket, or the ws package on Node 20). This entry point only names what the package
 * offers; the parts live in the files named below.
 */
export { TaskGatewayClient } from './taskgatewayclient.js';
export type { TClientState, IGatewaySubscription, ITriggerCallOptions } from './taskgatewayclient.js';
export type { ITaskGatewayClientOptions, IReconnectOptions } from './clientoptions.js';
export { RemoteRun } from './remoterun.js';
export { RemoteQueue, type IRemoteListJobsOptions } from './remotequeue.js';
export type { IJob, TJobState } from '../jobqueue/jobrecord.js';
export type { IQueueCounts } from '../jobqueue/jobrecord.js';
export type { IWaitingRunInfo } from '../manager/waitreasons.js';
export type { IServeContext, IServeOptions, TServeHandler } from './servedhandlers.js';
export { MissingWebSocketError } from './clientsocket.js';
export type { TWebSocketClass, IWebSocketLike } from './clientsocket.js';
export { RemoteTaskError, GatewayRequestError, AuthFailedError, ConnectionLostError } from '../remote/remoteerrors.js';
export { allows, patternCovers } from '../remote/scopes.js';
export type { TAction, TScopedAction } from '../remote/scopes.js';
export type { IEventFilter, IWireError, IWireJobOptions, IEnqueueReply, IWireInstance, TWireEvent } from '../remote/protocol.js';
