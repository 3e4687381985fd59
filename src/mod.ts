/**
 * Weft: Erlang/OTP-style distribution for Deno.
 *
 * Start a named node, spawn processes, send them messages, link and
 * monitor them, locally or on other nodes:
 *
 * @example
 * ```ts
 * import { receive, send, spawn, startNode } from "./mod.ts";
 * import { runInProcess } from "./mod.ts";
 *
 * const node = await startNode({ name: "demo@127.0.0.1", cookie: "secret", noEpmd: true, hostname: "127.0.0.1" });
 * const shell = node.runtime.open({ label: "main" });
 * const answer = await runInProcess(shell, async () => {
 *   const doubler = spawn(async () => {
 *     const msg = await receive<{ from: import("./mod.ts").Pid; n: number }>();
 *     send(msg.from, msg.n * 2);
 *   });
 *   send(doubler, { from: shell.self, n: 21 });
 *   return await receive<number>();
 * });
 * console.assert(answer === 42);
 * await node.stop();
 * ```
 *
 * The layers, lowest first: `term` (pids, refs, the codec), `process` (the
 * runtime), `dist` (nodes and connections), then the services on top.
 *
 * @module
 */

export {
  AlreadyTrackedError,
  CaptureError,
  CircuitOpenError,
  ClockSkewError,
  ConsistencyError,
  CookieFileError,
  CrdtKeyDeletedError,
  CrdtTypeConflictError,
  DecodeError,
  describe,
  HandshakeError,
  KeyTakenError,
  NameError,
  NoConnectionError,
  NoQuorumError,
  NotAliveError,
  NotTrackedError,
  OpTakenError,
  PolicyError,
  PortInUseError,
  ProcessExitError,
  QuorumNotAchieved,
  RaftLogCorruptError,
  RaftMembershipError,
  RaftNoQuorumError,
  RaftTimeoutError,
  RemoteError,
  ServiceAlreadyRunningError,
  ServiceNotRunningError,
  StoreCorruptError,
  TimeoutError,
  UndefinedFunctionError,
  UnknownRaftClusterError,
  type WeftErrorOptions,
} from "./errors.ts";
export {
  CommandRejectedError,
  EventSerializationError,
  EventStoreUnavailableError,
  StreamDeletedError,
  UnregisteredCommandError,
  WrongExpectedVersionError,
} from "./errors.ts";
export {
  type Aggregate,
  AggregateInstance,
  type AppendOptions,
  type AppendResult,
  type Command,
  CommandRouter,
  type DispatchOptions,
  type DispatchResult,
  type DomainEvent,
  type EventData,
  type EventStore,
  type ExpectedVersion,
  type Middleware,
  PostgresEventStore,
  type PostgresTx,
  type ProcessManager,
  ProcessManagerRunner,
  type Projection,
  Projector,
  type RecordedEvent,
  SingletonSubscription,
  SqliteEventStore,
  type SqliteTx,
  type StreamReadOptions,
  Subscription,
  Upcasters,
} from "./event_sourcing/mod.ts";
export {
  decode,
  encode,
  longNodeName,
  type NodeName,
  parseNodeName,
  Pid,
  Ref,
  shortNodeName,
} from "./term/mod.ts";
export {
  cancelTimer,
  current,
  demonitor,
  type DemonitorOptions,
  type Dest,
  type DownMessage,
  exit,
  type ExitMessage,
  flush,
  link,
  type MailboxLimitReason,
  makeRef,
  monitor,
  NodeContext,
  type OpenOptions,
  Process,
  type ProcessContext,
  type ProcessFn,
  type ProcessInfo,
  type ProcessNamespace,
  receive,
  type ReceiveOptions,
  register,
  type RemoteName,
  runInProcess,
  Runtime,
  type RuntimeOptions,
  self,
  send,
  sendAfter,
  ServiceKey,
  setDefaultContext,
  spawn,
  spawnLink,
  spawnMonitor,
  type SpawnOptions,
  trapExit,
  unlink,
  unregister,
  whereis,
} from "./process/mod.ts";
export {
  type MonitorNodesOptions,
  type NodeDownMessage,
  type NodeKind,
  type NodeOptions,
  type NodeServices,
  type NodeServicesOptions,
  type NodeUpMessage,
  startNode,
  type WeftNode,
} from "./node.ts";
export {
  AlreadyStartedError,
  type CallOptions,
  type CallReply,
  type CallRequest,
  type CallResult,
  type ChildSpec,
  DynamicSupervisor,
  type DynamicSupervisorOptions,
  ExitError,
  type From,
  GenServer,
  type GlobalName,
  type NameRegistry,
  Registry,
  type RegistryOptions,
  type RestartType,
  type ServerName,
  type ServerPid,
  type ServerRef,
  StartError,
  type StartOptions,
  type Strategy,
  Supervisor,
  SupervisorError,
  type SupervisorOptions,
  Task,
  TaskSupervisor,
  type ViaName,
} from "./otp/mod.ts";
export {
  CircuitBreaker,
  type CircuitBreakerOptions,
  type CircuitInfo,
  type CircuitState,
  type MulticallOutcome,
  type MulticallResult,
  rpc,
  type RpcCallOptions,
  type RpcNamespace,
  RpcService,
  type RpcSpawn,
} from "./rpc/mod.ts";
export {
  global,
  type GlobalNameConflictMessage,
  GlobalNames,
  type GlobalResolver,
  type RegisterOptions as GlobalRegisterOptions,
} from "./global/mod.ts";
export { pg, type PgEvent, PgScope } from "./pg/mod.ts";
export {
  Presence,
  presence,
  type PresenceDiffMessage,
  type PresenceList,
  type PresenceMeta,
  PubSub,
  pubsub,
} from "./pubsub/mod.ts";
export {
  Chaos,
  Cluster,
  type ClusterEvent,
  type ClusterOptions,
  Faults,
  type FaultsOptions,
  loadClusterConfig,
  quorum,
  startCluster,
  startFaultAgent,
  type TopologySpec,
} from "./cluster/mod.ts";
export {
  type ClockOrder,
  CRDT_TYPE_NAMES,
  type CrdtType,
  crdtType,
  type CrdtTypeName,
  Hlc,
  type HlcOptions,
  type HlcTimestamp,
  lastWriteWins,
  resolveByVectorClock,
  type Timestamped,
  VectorClock,
  type Versioned,
} from "./crdt/mod.ts";
export { configureLogging, logger, type WeftLogLevel } from "./log.ts";
export { VERSION } from "./version.ts";
export {
  type CrdtChangedMessage,
  CrdtKey,
  type CrdtOpenOptions,
  type ReadOptions,
  type ReplicatedType,
  Replicator,
  type ReplicatorInfo,
  type ReplicatorOptions,
  type WriteOptions,
} from "./replicator/mod.ts";
export {
  loadClusterFile,
  parseMultiRegionConfig,
  type RegionLag,
  type RegionOptions,
  regions,
  RegionService,
  type RegionsNamespace,
  type RegionSpec,
  type RegionStatus,
  type RegionTraffic,
} from "./region/mod.ts";
export {
  type DistChildInfo,
  type DistChildSpec,
  DistRegistry,
  type DistRegistryOptions,
  Distributed,
  type DistributionStrategy,
  DistSupervisor,
  type DistSupervisorOptions,
  type HandoffBegin,
  type HandoffEnd,
  horde,
  type NameConflictReason,
  type PlacementFunction,
  type RegistryEntry,
  type RegistryKey,
} from "./distributed/mod.ts";
export {
  raft,
  type RaftCallOptions,
  type RaftGroupInfo,
  type RaftMachineModule,
  type RaftMembers,
  RaftService,
  type StartClusterOptions,
} from "./raft/mod.ts";
export { SqliteStore } from "./storage/mod.ts";
export {
  Atom,
  atom,
  BitString,
  decodeTerm,
  type DecodeTermOptions,
  encodeTerm,
  type EncodeTermOptions,
  ErlangFloat,
  ErlangPort,
  ErlangRef,
  ImproperList,
  type Term as ErlangTerm,
  termKey,
  Tuple,
  tuple,
} from "./etf/mod.ts";
export {
  type AttachedHandler,
  type EventName,
  GEN_SERVER_CALL_STOP,
  type Measurements,
  MESSAGE_RECEIVED,
  MESSAGE_SENT,
  type Metadata,
  NODE_DOWN,
  NODE_UP,
  RAFT_LEADER,
  REPLICATOR_DELTA_SENT,
  RPC_CALL_STOP,
  RPC_CIRCUIT_CHANGED,
  SUPERVISOR_RESTART,
  Telemetry,
  TelemetryEvent,
  type TelemetryHandler,
} from "./telemetry/mod.ts";
