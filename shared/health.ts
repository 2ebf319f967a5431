import { ConfigError, loadConfig, loadStorageConfig, type Environment } from './config';
import { SERVICE_LABELS, SyncError } from './errors';
import { getServices } from './services';
import { pingStorage } from './storage';
import { failureHint, parseRunStatus, POLL_STATUS_KEY } from './sync/companyRuns';

/** ok: everything works; degraded: serving, but some work is held or slowed; down: cannot do its job. */
export type HealthStatus = 'ok' | 'degraded' | 'down';

export interface HealthCheck {
  /** What was checked: `settings`, `storage`, ... */
  name: string;
  status: HealthStatus;
  /** Names settings and parts, never values. Null when the check passed. */
  message: string | null;
}

export interface HealthReport {
  status: HealthStatus;
  checks: HealthCheck[];
  /** Services whose work is on hold (shared/sync/outages.ts); present only when there is one. */
  onHold?: OnHoldReport[];
}

export interface OnHoldReport {
  service: string;
  reason: 'auth' | 'throttled' | 'unavailable';
  since: string;
  nextAttemptAt: string;
  /** The last failure, redacted. */
  lastError: string;
  action: string;
  /** With several companies: whose work is on hold. */
  companyId?: string;
  companyName?: string;
}

const RANK: Record<HealthStatus, number> = { ok: 0, degraded: 1, down: 2 };

/** The worst status of the checks. */
export function overallStatus(checks: readonly HealthCheck[]): HealthStatus {
  return checks.reduce<HealthStatus>((worst, check) => (RANK[check.status] > RANK[worst] ? check.status : worst), 'ok');
}

/** HTTP status of a report: a degraded app still serves (200), a down one answers 503. */
export function httpStatusOf(status: HealthStatus): number {
  return status === 'down' ? 503 : 200;
}

/** Settings valid and storage answering. */
export async function checkHealth(env: Environment = process.env): Promise<HealthReport> {
  const checks: HealthCheck[] = [];
  let settingsOk = true;
  try {
    loadConfig(env);
    checks.push({ name: 'settings', status: 'ok', message: null });
  } catch (failure) {
    settingsOk = false;
    checks.push({ name: 'settings', status: 'down', message: settingsMessage(failure) });
  }
  try {
    // With broken settings, storage is still checked on its own setting so the report is complete.
    await (settingsOk ? getServices().storage.ping() : pingStorage(loadStorageConfig(env)));
    checks.push({ name: 'storage', status: 'ok', message: null });
  } catch (failure) {
    // A missing AzureWebJobsStorage is already reported under settings.
    if (!(failure instanceof ConfigError && !settingsOk)) checks.push({ name: 'storage', status: 'down', message: storageMessage(failure) });
  }
  // Business Central or iPaaS.com on hold: the app serves and holds the work, so degraded, with what to do.
  // Each company has its own hold; with several, each is named.
  const onHold: OnHoldReport[] = [];
  if (checks.every((check) => check.status === 'ok')) {
    const services = getServices();
    for (const company of services.companies) {
      const outages = await company.breakers.report().catch(() => []);
      const label = services.multiCompany ? ` (${company.ref.name})` : '';
      for (const outage of outages) {
        const service = `${SERVICE_LABELS[outage.service]}${label}`;
        onHold.push({
          service,
          reason: outage.kind,
          since: outage.since,
          nextAttemptAt: outage.retryAt,
          lastError: outage.message,
          action: outage.action,
          ...(services.multiCompany ? { companyId: company.ref.id, companyName: company.ref.name } : {}),
        });
        checks.push({ name: service, status: 'degraded', message: `on hold since ${outage.since} (${outage.kind}): ${outage.action}` });
      }
      // A company whose poll fails (deleted: 404; not permitted: 403) is shown; the other companies go on.
      const lastPoll = await company.storage.state.get(POLL_STATUS_KEY, parseRunStatus).catch(() => null);
      if (lastPoll?.value?.outcome === 'Failed') {
        const failed = lastPoll.value;
        checks.push({
          name: `poll${services.multiCompany ? ` (${company.ref.name})` : ''}`,
          status: 'degraded',
          message: `polling fails since ${failed.failingSince ?? failed.at}${failed.status ? ` (HTTP ${failed.status})` : ''}: ${failureHint(failed.status)}`,
        });
      }
    }
  }
  return { status: overallStatus(checks), checks, ...(onHold.length > 0 ? { onHold } : {}) };
}

function settingsMessage(failure: unknown): string {
  if (failure instanceof ConfigError) return failure.problems.map((problem) => `${problem.setting} ${problem.problem}`).join('; ');
  return 'the settings could not be read';
}

function storageMessage(failure: unknown): string {
  if (failure instanceof ConfigError) return failure.problems.map((problem) => `${problem.setting} ${problem.problem}`).join('; ');
  // SyncError messages from the storage layer carry the part and HTTP status only, never the connection string.
  return failure instanceof SyncError ? failure.message : 'storage did not answer';
}
