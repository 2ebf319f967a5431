import { app } from '@azure/functions';
import { customerTransfersByNumber } from './customerTransfersByNumber';

/** The transfer history of a customer of one company, by number: `{company}` is its GUID or configured name (404 UnknownCompany otherwise); the handler is the route's without a company. */
app.http('companyCustomerTransfersByNumber', {
  methods: ['GET'],
  authLevel: 'function',
  route: 'companies/{company}/customers/by-number/{number}/transfers',
  handler: customerTransfersByNumber,
});
