export * from './report';
export * from './expected';
export * from './classify';
export * from './csv';
export {
  DEFAULT_IPAAS_PAGES_PER_STEP,
  DEFAULT_RECONCILE_PAGE_SIZE,
  DEFAULT_STALE_AFTER_MS,
  MAX_TRANSIENT_FAILURES,
  newRunId,
  RUN_ID_PATTERN,
  type CompanyReconcileDependencies,
  type ReconcileDependencies,
  type RunState,
} from './runState';
export * from './lifecycle';
export * from './reportReading';
export * from './runTelemetry';
export * from './queueRun';
export type { ReconcileProgress } from './report';
