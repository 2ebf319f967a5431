import { randomUUID } from 'node:crypto';
import { apiError, type ApiResponse } from '../../shared/http/apiErrors';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { HttpRequest, HttpResponse, InvocationContext, type HttpResponseInit, type LogLevel } from '@azure/functions';
import { QueueServiceClient, type DequeuedMessageItem, type QueueClient } from '@azure/storage-queue';
import { Cron } from 'croner';
import type { BindingInfo, Registration } from './functionsCoreStub';
import { applyClockOffset } from './clockOffset';
import { pollingDelay } from './queuePolling';
import { loadHostSettings, type HostSettings } from './hostSettings';
import { loadFunctionApp } from './loadApp';
import { compileRoute, type RouteTemplate } from './routes';

export interface InvocationEvent {
  functionName: string;
  trigger: string;
  invocationId: string;
  succeeded: boolean;
  durationMs: number;
  error?: unknown;
}

export interface LocalHostOptions {
  /** Project root holding host.json and functions/. */
  root: string;
  /** HTTP port; 7071 like func start, 0 for any free port. */
  port?: number;
  /** Where function and host logs go. */
  log?: (level: LogLevel, message: string) => void;
  onInvocation?: (event: InvocationEvent) => void;
  /** Extra HTTP routes served before the functions (the sandbox's); return true when handled. */
  extraRoutes?: (request: IncomingMessage, response: ServerResponse, body: Buffer) => Promise<boolean>;
  /** Start the queue listeners and timers (default true); tests may drive them by hand. */
  listen?: { queues?: boolean; timers?: boolean };
}

export interface LocalHost {
  url: string;
  port: number;
  settings: HostSettings;
  registrations: Registration[];
  /** Runs a timer function now, as its schedule would. */
  runTimer(functionName: string): Promise<void>;
  /** Processes what is in the function's queue now, until it is empty (for tests and the sandbox). */
  drainQueue(functionName: string): Promise<number>;
  stop(): Promise<void>;
}

const MAX_BODY_BYTES = 100 * 1024 * 1024; // the Functions host's own request limit
/**
 * How long a received message stays hidden while a function works on it: 600 s by default, as the real
 * host. Setting LOCAL_HOST_PROCESSING_VISIBILITY_SECONDS shortens it, so a message whose worker process
 * died mid-run reappears sooner (the fault suite kills the host); keep it above the longest invocation,
 * or a still-running message is delivered a second time.
 */
export const DEFAULT_PROCESSING_VISIBILITY_SECONDS = 600;

export function processingVisibilitySeconds(env: Record<string, string | undefined> = process.env): number {
  const raw = env.LOCAL_HOST_PROCESSING_VISIBILITY_SECONDS?.trim();
  if (!raw) return DEFAULT_PROCESSING_VISIBILITY_SECONDS;
  const seconds = Number(raw);
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > 7 * 24 * 3600) {
    throw new Error(`LOCAL_HOST_PROCESSING_VISIBILITY_SECONDS must be a whole number of seconds from 1 to 604800, got "${raw}"`);
  }
  return seconds;
}

const triggerOf = (registration: Registration): BindingInfo =>
  Object.values(registration.metadata.bindings).find((binding) => binding.direction === 'in' && /trigger$/iu.test(binding.type))!;

/** Resolves %SETTING% placeholders in binding values, as the Functions host does. */
function resolveSetting(value: string): string {
  return value.replace(/%([^%]+)%/gu, (_, name: string) => {
    const resolved = process.env[name];
    if (resolved === undefined) throw new Error(`Binding expression %${name}% refers to a setting that is not set`);
    return resolved;
  });
}

export async function startLocalHost(options: LocalHostOptions): Promise<LocalHost> {
  // Before the app loads: a test may run this host's clock ahead of the others' (LOCAL_HOST_CLOCK_OFFSET_MS).
  applyClockOffset();
  const settings = loadHostSettings(options.root);
  const processingVisibility = processingVisibilitySeconds();
  const registrations = loadFunctionApp(options.root);
  const log = options.log ?? ((level, message) => console.log(`[${level}] ${message}`));
  const queueServices = new Map<string, QueueServiceClient>();
  const stoppers: Array<() => Promise<void> | void> = [];

  function queueClient(connection: string | undefined, queueName: string): QueueClient {
    const name = connection ?? 'AzureWebJobsStorage';
    let service = queueServices.get(name);
    if (!service) {
      const connectionString = process.env[name];
      if (!connectionString) throw new Error(`Setting ${name} (the queue connection) is not set`);
      service = QueueServiceClient.fromConnectionString(connectionString);
      queueServices.set(name, service);
    }
    return service.getQueueClient(queueName);
  }

  function encode(message: unknown): string {
    const text = typeof message === 'string' ? message : JSON.stringify(message);
    return settings.queues.messageEncoding === 'base64' ? Buffer.from(text, 'utf8').toString('base64') : text;
  }

  function newContext(registration: Registration, triggerMetadata: Record<string, unknown>): InvocationContext {
    const bindings = Object.entries(registration.metadata.bindings).map(([name, binding]) => ({ ...binding, name }));
    const trigger = bindings.find((binding) => binding.direction === 'in' && /trigger$/iu.test(binding.type))!;
    return new InvocationContext({
      invocationId: randomUUID(),
      functionName: registration.metadata.name,
      triggerMetadata,
      logHandler: (level, ...args) => log(level, `[${registration.metadata.name}] ${args.map((arg) => (typeof arg === 'string' ? arg : JSON.stringify(arg))).join(' ')}`),
      options: {
        trigger,
        extraInputs: bindings.filter((binding) => binding.direction === 'in' && binding !== trigger),
        extraOutputs: bindings.filter((binding) => binding.direction === 'out' && binding.name !== '$return'),
      },
    });
  }

  /** Writes queue output bindings (extraOutputs and a queue $return) as the host does after a successful run. */
  async function flushOutputs(registration: Registration, context: InvocationContext, returned: unknown): Promise<void> {
    for (const [name, binding] of Object.entries(registration.metadata.bindings)) {
      if (binding.direction !== 'out' || binding.type !== 'queue') continue;
      const value = name === '$return' ? returned : context.extraOutputs.get(name);
      if (value === undefined || value === null) continue;
      const queue = queueClient(binding.connection, resolveSetting(String(binding.queueName)));
      await queue.createIfNotExists();
      for (const message of Array.isArray(value) ? value : [value]) await queue.sendMessage(encode(message));
    }
  }

  async function invoke(registration: Registration, input: unknown, context: InvocationContext): Promise<unknown> {
    const started = Date.now();
    const trigger = triggerOf(registration).type;
    try {
      const returned = await registration.handler(input, context);
      await flushOutputs(registration, context, returned);
      options.onInvocation?.({ functionName: registration.metadata.name, trigger, invocationId: context.invocationId, succeeded: true, durationMs: Date.now() - started });
      return returned;
    } catch (error) {
      options.onInvocation?.({ functionName: registration.metadata.name, trigger, invocationId: context.invocationId, succeeded: false, durationMs: Date.now() - started, error });
      log('error', `Executed '${registration.metadata.name}' (Failed, Id=${context.invocationId}): ${error instanceof Error ? error.message : String(error)}`);
      throw error;
    }
  }

  // HTTP
  const httpFunctions = registrations
    .filter((registration) => triggerOf(registration).type === 'httpTrigger')
    .map((registration) => {
      const trigger = triggerOf(registration);
      const route: RouteTemplate = compileRoute(`${settings.routePrefix}/${trigger.route ?? registration.metadata.name}`);
      const methods = (trigger.methods ?? ['GET', 'POST']).map((method) => method.toUpperCase());
      return { registration, route, methods };
    });

  async function handleHttp(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of request as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        writeError(response, apiError('BodyTooLarge', `The body is larger than the local host accepts (${MAX_BODY_BYTES} bytes)`));
        return;
      }
      chunks.push(chunk);
    }
    const body = Buffer.concat(chunks);
    if (options.extraRoutes && (await options.extraRoutes(request, response, body))) return;
    const url = new URL(request.url ?? '/', `http://${request.headers.host ?? 'localhost'}`);
    const method = (request.method ?? 'GET').toUpperCase();
    const candidates = httpFunctions
      .map((fn) => ({ fn, params: fn.route.match(url.pathname) }))
      .filter((candidate): candidate is { fn: (typeof httpFunctions)[number]; params: Record<string, string> } => candidate.params !== null);
    const chosen = candidates.find((candidate) => candidate.fn.methods.includes(method));
    if (!chosen) {
      writeError(
        response,
        candidates.length > 0 ? apiError('MethodNotAllowed', `${method} is not served on ${url.pathname}`) : apiError('NotFound', `No route matches ${url.pathname}`),
      );
      return;
    }
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(request.headers)) {
      if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
    }
    const httpRequest = new HttpRequest({
      method,
      url: url.toString(),
      headers,
      params: chosen.params,
      ...(body.length > 0 && method !== 'GET' && method !== 'HEAD' ? { body: { bytes: body } } : {}),
    });
    const context = newContext(chosen.fn.registration, {});
    let result: HttpResponse;
    try {
      const returned = (await invoke(chosen.fn.registration, httpRequest, context)) as HttpResponseInit | HttpResponse | undefined;
      result = returned instanceof HttpResponse ? returned : new HttpResponse(returned ?? {});
    } catch (failure) {
      writeError(response, apiError('InternalError', `${chosen.fn.registration.metadata.name} failed: ${failure instanceof Error ? failure.message : String(failure)}`));
      return;
    }
    const outHeaders: Record<string, string> = {};
    result.headers.forEach((value, name) => {
      outHeaders[name] = value;
    });
    const payload = Buffer.from(await result.arrayBuffer());
    response.writeHead(result.status, outHeaders).end(payload);
  }

  const server: Server = createServer((request, response) => {
    handleHttp(request, response).catch((error: unknown) => {
      log('error', `HTTP host error: ${error instanceof Error ? error.message : String(error)}`);
      if (!response.headersSent) response.writeHead(500);
      response.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(error.code === 'EADDRINUSE' ? new Error(`Port ${options.port ?? 7071} is already in use; stop what uses it or set another port`) : error),
    );
    server.listen(options.port ?? 7071, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  stoppers.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  stoppers.push(() => server.closeAllConnections());

  // Queues
  const queueFunctions = registrations.filter((registration) => triggerOf(registration).type === 'queueTrigger');

  async function processMessage(registration: Registration, queue: QueueClient, poison: QueueClient, message: DequeuedMessageItem): Promise<void> {
    const { maxDequeueCount, visibilityTimeoutMs, messageEncoding } = settings.queues;
    const moveToPoison = async (): Promise<void> => {
      await poison.createIfNotExists();
      await poison.sendMessage(message.messageText);
      await queue.deleteMessage(message.messageId, message.popReceipt);
    };
    if (message.dequeueCount > maxDequeueCount) return moveToPoison();
    const text = messageEncoding === 'base64' ? Buffer.from(message.messageText, 'base64').toString('utf8') : message.messageText;
    let input: unknown = text;
    try {
      input = JSON.parse(text) as unknown;
    } catch {
      // Not JSON: the handler gets the string, as in Azure.
    }
    const context = newContext(registration, {
      id: message.messageId,
      dequeueCount: message.dequeueCount,
      insertionTime: message.insertedOn.toISOString(),
      expirationTime: message.expiresOn.toISOString(),
      nextVisibleTime: message.nextVisibleOn.toISOString(),
      popReceipt: message.popReceipt,
    });
    try {
      await invoke(registration, input, context);
      await queue.deleteMessage(message.messageId, message.popReceipt);
    } catch {
      if (message.dequeueCount >= maxDequeueCount) await moveToPoison();
      else await queue.updateMessage(message.messageId, message.popReceipt, undefined, Math.round(visibilityTimeoutMs / 1000));
    }
  }

  function queueTarget(registration: Registration): { queue: QueueClient; poison: QueueClient } {
    const trigger = triggerOf(registration);
    const name = resolveSetting(String(trigger.queueName));
    return { queue: queueClient(trigger.connection, name), poison: queueClient(trigger.connection, `${name}-poison`) };
  }

  async function receiveBatch(registration: Registration, count: number): Promise<DequeuedMessageItem[]> {
    const { queue } = queueTarget(registration);
    const received = await queue.receiveMessages({ numberOfMessages: count, visibilityTimeout: processingVisibility });
    return received.receivedMessageItems;
  }

  for (const registration of queueFunctions) {
    const { queue, poison } = queueTarget(registration);
    await queue.createIfNotExists();
    await poison.createIfNotExists();
  }

  if (options.listen?.queues !== false) {
    for (const registration of queueFunctions) {
      const { queue, poison } = queueTarget(registration);
      let running = true;
      let inFlight = 0;
      let wake: (() => void) | undefined;
      // Idle polling as Azure's queue trigger does it: at once after messages, then a randomized exponential back-off.
      const delay = pollingDelay(settings.queues.maxPollingIntervalMs);
      const loop = (async () => {
        while (running) {
          if (inFlight > settings.queues.newBatchThreshold) {
            await new Promise<void>((resolve) => (wake = resolve));
            continue;
          }
          let messages: DequeuedMessageItem[] = [];
          try {
            messages = await receiveBatch(registration, settings.queues.batchSize);
          } catch (error) {
            if (running) log('warning', `Queue ${queue.name} could not be read: ${error instanceof Error ? error.message : String(error)}`);
          }
          if (messages.length === 0) {
            await new Promise<void>((resolve) => {
              const timer = setTimeout(resolve, delay.next(false));
              wake = () => {
                clearTimeout(timer);
                resolve();
              };
            });
            continue;
          }
          delay.next(true);
          for (const message of messages) {
            inFlight += 1;
            void processMessage(registration, queue, poison, message)
              .catch((error: unknown) => log('error', `Queue message handling failed: ${error instanceof Error ? error.message : String(error)}`))
              .finally(() => {
                inFlight -= 1;
                wake?.();
              });
          }
        }
        while (inFlight > 0) await new Promise<void>((resolve) => (wake = resolve));
      })();
      stoppers.push(async () => {
        running = false;
        wake?.();
        await loop;
      });
    }
  }

  // Timers
  const timerFunctions = registrations.filter((registration) => triggerOf(registration).type === 'timerTrigger');
  const timerRuns = new Map<string, Promise<void>>();
  async function runTimer(registration: Registration, isPastDue = false): Promise<void> {
    const name = registration.metadata.name;
    const running = timerRuns.get(name);
    if (running) return running; // like Azure: one run of a timer function at a time
    const schedule = resolveSetting(String(triggerOf(registration).schedule));
    const next = new Cron(schedule, { paused: true }).nextRun();
    const run = invoke(
      registration,
      { isPastDue, schedule: { adjustForDST: false }, scheduleStatus: { last: new Date().toISOString(), next: next?.toISOString() ?? '', lastUpdated: new Date().toISOString() } },
      newContext(registration, {}),
    )
      .then(() => undefined)
      .catch(() => undefined)
      .finally(() => timerRuns.delete(name));
    timerRuns.set(name, run);
    return run;
  }
  // Stoppers run in reverse: the schedules stop first, then the runs already under way are awaited, so no timer
  // starts (and writes to storage) after stop() returned.
  stoppers.push(async () => {
    await Promise.all(timerRuns.values());
  });
  if (options.listen?.timers !== false) {
    for (const registration of timerFunctions) {
      const trigger = triggerOf(registration);
      const job = new Cron(resolveSetting(String(trigger.schedule)), { protect: true, timezone: 'UTC' }, () => runTimer(registration));
      stoppers.push(() => job.stop());
      if (trigger.runOnStartup) void runTimer(registration);
    }
  }

  const byName = (name: string): Registration => {
    const registration = registrations.find((candidate) => candidate.metadata.name === name);
    if (!registration) throw new Error(`No function named ${name}`);
    return registration;
  };

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    settings,
    registrations,
    runTimer: (name) => runTimer(byName(name)),
    async drainQueue(name) {
      const registration = byName(name);
      const { queue, poison } = queueTarget(registration);
      let processed = 0;
      for (;;) {
        const messages = await receiveBatch(registration, settings.queues.batchSize);
        if (messages.length === 0) return processed;
        await Promise.all(messages.map((message) => processMessage(registration, queue, poison, message)));
        processed += messages.length;
      }
    },
    async stop() {
      for (const stop of stoppers.reverse()) await stop();
    },
  };
}

/** The project's error shape for answers the host itself gives (no route, wrong method, handler crash). */
function writeError(response: ServerResponse, error: ApiResponse): void {
  response.writeHead(error.status, { 'Content-Type': 'application/json; charset=utf-8', ...error.headers }).end(JSON.stringify(error.jsonBody));
}
