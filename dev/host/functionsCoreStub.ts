/**
 * Stand-in for '@azure/functions-core', the module the real Functions worker provides. With it present,
 * every app.http / app.storageQueue / app.timer call of the app ends here with the same binding metadata
 * Azure receives, so the local host serves exactly the registrations that Azure would.
 */
export interface BindingInfo {
  type: string;
  direction: 'in' | 'out';
  name?: string;
  route?: string;
  methods?: string[];
  authLevel?: string;
  queueName?: string;
  connection?: string;
  schedule?: string;
  runOnStartup?: boolean;
  [key: string]: unknown;
}

export interface FunctionMetadata {
  name: string;
  bindings: Record<string, BindingInfo>;
  retryOptions?: unknown;
}

export type FunctionCallback = (...args: unknown[]) => unknown;

export interface Registration {
  metadata: FunctionMetadata;
  handler: FunctionCallback;
}

export const registrations: Registration[] = [];

export function setProgrammingModel(_model: unknown): void {}

export function registerFunction(metadata: FunctionMetadata, handler: FunctionCallback): { dispose(): void } {
  if (registrations.some((registration) => registration.metadata.name === metadata.name)) {
    throw new Error(`A function named "${metadata.name}" is already registered`);
  }
  const registration = { metadata, handler };
  registrations.push(registration);
  return {
    dispose() {
      const index = registrations.indexOf(registration);
      if (index >= 0) registrations.splice(index, 1);
    },
  };
}

export function registerHook(_hookName: string, _callback: unknown): { dispose(): void } {
  return { dispose() {} };
}

export function log(_level: string, _category: string, _message: string): void {}
