/**
 * The Function App's entry (package.json `main` points at its build). Importing a function file
 * registers it with app.*; Azure and the local host both load exactly this list.
 */
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
