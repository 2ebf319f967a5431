import { azuriteConnectionString } from '../../dev/azurite';
import { TEST_SETTINGS } from './settings';

// Each jest worker uses its own Azurite account, so test files running in parallel never share tables or queues.
const ports = JSON.parse(process.env.TEST_AZURITE_PORTS ?? '{"blob":10000,"queue":10001,"table":10002}') as {
  blob: number;
  queue: number;
  table: number;
};
const account = `worker${process.env.JEST_WORKER_ID ?? '1'}`;
Object.assign(process.env, TEST_SETTINGS, { AzureWebJobsStorage: azuriteConnectionString(ports, account) });
