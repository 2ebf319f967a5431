import { app } from '@azure/functions';
import { customerTransfers } from './customerTransfers';

/** The transfer history of a customer of one company, by id: `{company}` is its GUID or configured name (404 UnknownCompany otherwise); the handler is the route's without a company. */
app.http('companyCustomerTransfers', {
  methods: ['GET'],
  authLevel: 'function',
  route: 'companies/{company}/customers/{id}/transfers',
  handler: customerTransfers,
});
