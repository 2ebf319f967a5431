/**
 * The Function App's entry (package.json `main` points at its build). Importing a function file
 * registers it with app.*; Azure and the local host both load exactly this list.
 */
import { app } from '@azure/functions';
import { checkMappingAtStart } from './shared/services';
import './functions/webhook';
import './functions/manualSync';
import './functions/manualSyncByNumber';
import './functions/customerTransfers';
import './functions/transfers';
import './functions/replayTransfers';
import './functions/health';
import './functions/healthDetails';
import './functions/syncWorker';
import './functions/poisonWorker';
import './functions/catchUpWorker';
import './functions/pollCustomers';
import './functions/subscriptionTimer';

// A bad mapping file (CUSTOMER_MAPPING_FILE) stops the host here, with one message naming the entry.
checkMappingAtStart();

// Options the worker reads once the entry has loaded.
app.setup({ enableHttpStream: false });
