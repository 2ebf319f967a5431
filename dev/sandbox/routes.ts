import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { GUID_PATTERN } from '../../shared/guid';
import type { FakeWorld } from '../fakes/world';
import { CANADA_SCENARIOS, DEMO_SCENARIOS } from './demoData';
import type { ChangeNotifier } from './notifier';

const customerInput = z.strictObject({
  number: z.string().max(20).optional(),
  displayName: z.string().max(100).optional(),
  type: z.enum(['Person', 'Company']).optional(),
  email: z.string().max(80).optional(),
  addressLine1: z.string().max(100).optional(),
  addressLine2: z.string().max(50).optional(),
  city: z.string().max(30).optional(),
  state: z.string().max(30).optional(),
  country: z.string().max(10).optional(),
  postalCode: z.string().max(20).optional(),
  phoneNumber: z.string().max(30).optional(),
});

const faultInput = z.strictObject({
  service: z.enum(['ipaas', 'business-central']),
  status: z.union([z.number().int().min(400).max(599), z.literal('hang')]),
  times: z.number().int().positive().optional(),
  probability: z.number().min(0).max(1).optional(),
  retryAfterSeconds: z.number().int().min(0).optional(),
});

function send(response: ServerResponse, status: number, body?: unknown): void {
  if (body === undefined) {
    response.writeHead(status).end();
    return;
  }
  response.writeHead(status, { 'Content-Type': 'application/json' }).end(`${JSON.stringify(body, null, 2)}\n`);
}

function parseBody<T>(schema: z.ZodType<T>, body: Buffer, response: ServerResponse): T | undefined {
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8') || '{}');
  } catch {
    send(response, 400, { error: 'The body is not valid JSON' });
    return undefined;
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    send(response, 400, { error: parsed.error.issues.map((issue) => `${issue.path.join('.') || 'body'}: ${issue.message}`).join('; ') });
    return undefined;
  }
  return parsed.data;
}

/**
 * The sandbox's own routes under /sandbox: change customers in the fake Business Central (which then
 * notifies our webhook like the real one), look into both fakes, and inject faults.
 */
export function sandboxRoutes(world: FakeWorld, notifier: ChangeNotifier) {
  const { businessCentral: fake, ipaas } = world;
  return async (request: IncomingMessage, response: ServerResponse, body: Buffer): Promise<boolean> => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const parts = url.pathname.split('/').filter(Boolean);
    if (parts[0] !== 'sandbox') return false;
    const method = request.method ?? 'GET';
    const route = `${method} /${parts.slice(1, 3).join('/')}`;
    const id = parts[3];
    // `?company=` (GUID or name) picks the Business Central company; default: the first.
    const wanted = url.searchParams.get('company')?.trim().toLowerCase();
    const company = wanted ? fake.companies().find((candidate) => candidate.id === wanted || candidate.name.toLowerCase() === wanted) : fake.companies()[0];
    if (!company) {
      send(response, 404, { error: `No company ${wanted ?? ''} in the sandbox Business Central; companies: ${fake.companies().map((candidate) => candidate.name).join(', ')}` });
      return true;
    }
    const businessCentral = fake.company(company.id);

    if (route === 'GET /' && parts.length === 1) {
      send(response, 200, {
        businessCentral: {
          customers: fake.customers().length,
          subscriptions: fake.subscriptions().length,
          requests: fake.requests,
          companies: fake.companies().map((candidate) => ({ ...candidate, customers: fake.company(candidate.id).customers().length })),
        },
        ipaas: { customers: ipaas.customers().length, requests: ipaas.requests },
        scenarios: DEMO_SCENARIOS,
        ...(fake.companies().length > 1 ? { canadaScenarios: CANADA_SCENARIOS } : {}),
      });
      return true;
    }
    if (route === 'GET /business-central/customers' && id === undefined) {
      send(response, 200, { value: businessCentral.customers() });
      return true;
    }
    if (route === 'POST /business-central/customers' && id === undefined) {
      const input = parseBody(customerInput, body, response);
      if (!input) return true;
      if (input.number && businessCentral.customers().some((customer) => customer.number === input.number)) {
        send(response, 409, { error: `Customer number ${input.number} exists already` });
        return true;
      }
      const created = businessCentral.upsertCustomer({ type: 'Person', ...input });
      notifier.customerChanged(created.id, 'created', company.id);
      send(response, 201, created);
      return true;
    }
    if ((method === 'PATCH' || method === 'DELETE') && parts[1] === 'business-central' && parts[2] === 'customers' && id !== undefined) {
      if (!GUID_PATTERN.test(id) || !businessCentral.getCustomer(id)) {
        send(response, 404, { error: `No customer ${id} in the sandbox Business Central` });
        return true;
      }
      if (method === 'DELETE') {
        businessCentral.deleteCustomer(id);
        notifier.customerChanged(id.toLowerCase(), 'deleted', company.id);
        send(response, 204);
        return true;
      }
      const patch = parseBody(customerInput, body, response);
      if (!patch) return true;
      const updated = businessCentral.updateCustomer(id, patch);
      notifier.customerChanged(updated.id, 'updated', company.id);
      send(response, 200, updated);
      return true;
    }
    if (route === 'GET /ipaas/customers') {
      send(response, 200, { value: ipaas.customers().map((customer) => ({ ...customer, addresses: ipaas.addresses(customer.id) })) });
      return true;
    }
    if (route === 'POST /faults') {
      const fault = parseBody(faultInput, body, response);
      if (!fault) return true;
      const target = fault.service === 'ipaas' ? ipaas.faults : fake.faults;
      target.add({
        status: fault.status,
        ...(fault.times === undefined ? {} : { times: fault.times }),
        ...(fault.probability === undefined ? {} : { probability: fault.probability }),
        ...(fault.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: fault.retryAfterSeconds }),
      });
      send(response, 201, { added: fault });
      return true;
    }
    if (route === 'DELETE /faults') {
      ipaas.faults.clear();
      fake.faults.clear();
      send(response, 204);
      return true;
    }
    send(response, 404, { error: `No sandbox route ${method} ${url.pathname}; see GET /sandbox` });
    return true;
  };
}
