/**
 * `image-controller run`: watch Images and keep `status.latestImage` at the tag's current digest (the
 * seed's `./mvnw spring-boot:run`). `startController` wires the modules together; `runCommand` adds
 * flags, signals and the exit code.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { sleep, systemClock } from '../clock.js';
import { LEASE_NAME } from '../defaults.js';
import {
  ALWAYS_LEADER,
  createKubeClient,
  EventRecorder,
  ImageWatch,
  LeaderElector,
  loadKubeConfig,
  parseRegistryAlias,
  RegistryAccessCache,
  RegistryEndpoints,
} from '../kube/index.js';
import { createLogger, type Logger, type LogLevel } from '../log.js';
import type { Image } from '../api/image.js';
import { CheckLoop, createImageResolver, createSignatureCheck } from '../reconcile/index.js';
import { RegistryClient } from '../registry/index.js';
import { SignatureVerifier } from '../signatures/index.js';
import { ControllerServer, PrometheusMetrics } from '../server/index.js';
import { FlagError, formatFlagHelp, parseFlags } from './flags.js';
import { RUN_FLAGS, type RunOptions } from './run-flags.js';

/** How long a shutdown waits for checks in progress before it stops anyway. */
const DRAIN_TIMEOUT_MS = 15_000;
/** Pull secrets and ServiceAccounts are read again after this (the controller may `get` them, not watch). */
const SECRET_CACHE_MS = 10_000;

interface RunningController {
  /** Drains checks, stops the Image watch, releases the Lease, closes the HTTP server and registry connections. */
  stop(): Promise<void>;
}

async function startController(options: RunOptions, log: Logger): Promise<RunningController> {
  const clock = systemClock;
  const kube = createKubeClient(loadKubeConfig(options.kubeconfig));
  const identity = `${hostname()}_${randomUUID().slice(0, 8)}`;
  if (options.leaderElect && !options.leaseNamespace) throw new FlagError('--leader-elect needs --lease-namespace or $POD_NAMESPACE');

  // Built in dependency order: the loop subscribes to the elector and reports to the metrics.
  const elector = options.leaderElect ? new LeaderElector({ store: kube.leaseStore(options.leaseNamespace!, LEASE_NAME), identity, clock, log }) : undefined;
  const leadership = elector ?? ALWAYS_LEADER;
  const metrics = new PrometheusMetrics();
  const registry = new RegistryClient({
    requestTimeoutMs: options.requestTimeout,
    allowedRegistries: options.allowedRegistries,
    log,
    onRequest: metrics.recordRegistryRequest,
  });
  const registryAccess = new RegistryAccessCache({ reader: kube, clock, ttlMs: SECRET_CACHE_MS });
  const endpoints = new RegistryEndpoints({
    aliases: new Map(options.registryAlias.map(parseRegistryAlias)),
    reader: kube,
    inCluster: process.env.KUBERNETES_SERVICE_HOST !== undefined,
    clock,
    log,
  });
  const registryOptions = {
    registry,
    access: (image: Image, host: string) => registryAccess.load(image, host),
    endpointFor: (host: string) => endpoints.endpointFor(host),
    clock,
  };
  const loop = new CheckLoop({
    status: kube,
    events: new EventRecorder({ writer: kube, clock, log, instance: identity }),
    resolve: createImageResolver({ ...registryOptions, maxTags: options.maxTags, onTruncatedListing: metrics.recordTruncatedTagList }),
    verify: createSignatureCheck({
      ...registryOptions,
      secretData: (namespace, name, origin) => registryAccess.secretData(namespace, name, origin),
      verifier: new SignatureVerifier({ clock }),
    }),
    leadership,
    clock,
    log,
    metrics,
    defaultIntervalMs: options.interval,
    concurrency: options.concurrency,
  });
  const watch = new ImageWatch({ calls: kube, namespace: options.namespace, handlers: loop, clock, log });
  const server = new ControllerServer({
    address: options.httpAddress,
    metrics,
    notReadyReason: () => (watch.synced ? undefined : 'the Image cache has not been listed yet'),
    notificationToken: options.notificationToken,
    onPush: (pushed) => loop.recheckPushed(pushed),
    log,
  });

  const address = await server.listen();
  log.info('starting', {
    namespace: options.namespace ?? '(all)',
    interval: options.interval,
    concurrency: options.concurrency,
    leaderElect: options.leaderElect,
    identity,
    http: `${address.address}:${address.port}`,
    notifications: options.notificationToken ? 'enabled' : 'disabled',
  });
  watch.start();
  elector?.start();
  void watch.firstSync.then(() => log.info('controller ready', { images: loop.size, leader: leadership.isLeader }));

  return {
    async stop() {
      log.info('shutting down: finishing checks in progress');
      const drained = await Promise.race([loop.stop().then(() => true), sleep(clock, DRAIN_TIMEOUT_MS).then(() => false)]);
      if (!drained) log.warn('some checks were still running at shutdown', { afterMs: DRAIN_TIMEOUT_MS });
      await watch.stop();
      await elector?.stop();
      await server.close();
      await registry.close();
      log.info('stopped');
    },
  };
}

export async function runCommand(argv: string[]): Promise<number> {
  let options: RunOptions;
  try {
    const parsed = parseFlags(RUN_FLAGS, argv);
    if (parsed.help) {
      console.log(`Flags of run:\n${formatFlagHelp(RUN_FLAGS)}\n`);
      return 0;
    }
    if (parsed.positional.length > 0) throw new FlagError(`run takes no arguments, got "${parsed.positional.join(' ')}"`);
    options = parsed.values;
  } catch (error) {
    if (!(error instanceof FlagError)) throw error;
    console.error(`InvalidFlag: ${error.message}`);
    return 2;
  }
  const log = createLogger({ level: options.logLevel as LogLevel });
  // Every check is awaited inside the work queue; this only guards against a library's stray promise.
  process.on('unhandledRejection', (reason) => log.error('unhandled rejection', { error: String(reason) }));
  let running: RunningController;
  try {
    running = await startController(options, log);
  } catch (error) {
    log.error('could not start', { error: error instanceof Error ? error.message : String(error) });
    return error instanceof FlagError ? 2 : 1;
  }
  // The first SIGTERM/SIGINT drains; a second one, with the handlers gone, ends the process at once.
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  log.info('received signal', { signal });
  await running.stop();
  return 0;
}
