/**
 * The Function App's entry (package.json `main` points at its build). Importing a function file
 * registers it with app.*; Azure and the local host both load exactly this list.
 */
import * as azureFunctions from '@azure/functions';
import { startTelemetry } from './startup/telemetry';
import './functions/webhook';
import './functions/manualSync';
import './functions/manualSyncByNumber';
import './functions/customerTransfers';
import './functions/transfers';
import './functions/replayTransfers';
import './functions/health';
import './functions/healthDetails';
import './functions/status';
import './functions/customerTransfersByNumber';
import './functions/companyManualSync';
import './functions/companyManualSyncByNumber';
import './functions/companyCustomerTransfers';
import './functions/companyCustomerTransfersByNumber';
import './functions/console';
import './functions/syncWorker';
import './functions/poisonWorker';
import './functions/catchUpWorker';
import './functions/pollCustomers';
import './functions/subscriptionTimer';
import './functions/startReconciliation';
import './functions/reconciliationReport';
import './functions/reconcileWorker';
import './functions/reconcileTimer';
import './functions/transferRetention';
import './functions/retryTransfers';
import './functions/outageWatch';
import './functions/catchUpPoisonWorker';
import './functions/reconcilePoisonWorker';
import './functions/sweepPoisonQueues';

// Application Insights, in Azure only: the SDK is loaded only then, at app start.
startTelemetry(azureFunctions);

// The mapping collections (CUSTOMER_MAPPING_FILE and each company's) are checked and compiled when the app starts: a bad file fails
// the start with one message naming the entry instead of failing at the first customer. Loaded here, not at
// import, so the entry stays small (docs/performance.md, cold start).
azureFunctions.app.hook.appStart(async () => {
  const { loadCompaniesConfig, loadMappingConfig } = await import('./shared/config.js');
  loadMappingConfig(process.env);
  // BC_COMPANIES too (its entries, their mapping files and token settings): a bad entry fails the start, naming it.
  loadCompaniesConfig(process.env);
});
