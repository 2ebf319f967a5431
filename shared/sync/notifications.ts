import { createHash, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { GUID_PATTERN, normalizeGuid } from '../guid';

/**
 * One entry of a Business Central webhook notification (docs/external-apis.md, "Webhook subscriptions"): the
 * fields read. `subscriptionId` and `expirationDateTime` are not read and pass whatever their type;
 * `lastModifiedDateTime` only orders changes, so anything but text counts as unknown.
 */
export const notificationEntrySchema = z.looseObject({
  clientState: z.string(),
  resource: z.string().min(1, 'resource must not be empty').max(4096, 'resource is too long'),
  changeType: z.string().min(1, 'changeType must not be empty').max(64, 'changeType is too long'),
  lastModifiedDateTime: z.unknown().optional().transform((value) => (typeof value === 'string' ? value : undefined)),
});
export type NotificationEntry = z.infer<typeof notificationEntrySchema>;

export const notificationBodySchema = z.looseObject({ value: z.array(notificationEntrySchema) });

export type NotificationChangeType = 'created' | 'updated';

export interface CustomerChange {
  customerId: string;
  changeType: NotificationChangeType;
}

export interface AcceptedNotification {
  outcome: 'accepted';
  /** Distinct, lower-cased customer ids to re-read, with the latest change type seen for each. */
  customers: CustomerChange[];
  /** Collection resources to page through (a `collection` entry): with their $filter, or bare for a full pass. */
  collections: string[];
  /** Distinct, lower-cased ids of customers deleted in Business Central. */
  deleted: string[];
  /** Entries acknowledged but not acted on (other resources, other companies, unknown change types). */
  ignored: number;
}

export type NotificationPlan = { outcome: 'unauthorized' } | { outcome: 'invalid'; reason: string } | AcceptedNotification;

const sha256 = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

/**
 * Compares a received clientState with ours in constant time: both are hashed first so the
 * comparison always runs on 32 bytes and neither content nor length leaks through timing.
 */
export function clientStateMatches(received: unknown, expected: string): boolean {
  if (typeof received !== 'string') return false;
  return timingSafeEqual(sha256(received), sha256(expected));
}

/** Builds a comparator that hashes the expected secret once (a notification carries up to 1,000 entries). */
function clientStateComparator(expected: string): (received: unknown) => boolean {
  const expectedDigest = sha256(expected);
  return (received) => typeof received === 'string' && timingSafeEqual(sha256(received), expectedDigest);
}

// `[…/]api/v2.0/companies(<company>)/customers[(<id>)][?query]`, with or without a leading '/' or an absolute URL before it.
const CUSTOMERS_RESOURCE = /^(?:.*\/)?api\/v2\.0\/companies\(([^)]*)\)\/customers(?:\(([^)]*)\))?\/?(\?.*)?$/iu;

export type ParsedResource =
  | { kind: 'customer'; companyId: string; customerId: string }
  | { kind: 'collection'; companyId: string; query: string }
  | { kind: 'other' };

/** Reads which company and customer (or the whole collection) a notification resource names. */
export function parseResource(resource: string): ParsedResource {
  const match = CUSTOMERS_RESOURCE.exec(resource.trim());
  if (!match) return { kind: 'other' };
  const [, rawCompany = '', rawCustomer, query = ''] = match;
  const companyId = normalizeGuid(unquote(safeDecode(rawCompany)));
  if (rawCustomer === undefined) return { kind: 'collection', companyId, query };
  const customerId = normalizeGuid(unquote(safeDecode(rawCustomer)));
  return GUID_PATTERN.test(customerId) ? { kind: 'customer', companyId, customerId } : { kind: 'other' };
}

/** The collection resource as a path relative to the host, always with a leading '/', its query kept verbatim. */
export function collectionResourcePath(resource: string): string {
  const trimmed = resource.trim();
  const at = trimmed.search(/\/?api\/v2\.0\/companies\(/iu);
  const path = at >= 0 ? trimmed.slice(at) : trimmed;
  return path.startsWith('/') ? path : `/${path}`;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function unquote(text: string): string {
  return text.replace(/^'(.*)'$/u, '$1');
}

/** A bare collection (no $filter) means a full pass, which makes every filtered pass redundant. */
function isFullPass(resource: string): boolean {
  const query = resource.includes('?') ? resource.slice(resource.indexOf('?') + 1) : '';
  return !/(?:^|&)(?:\$|%24)filter=/iu.test(query);
}

function describeIssues(error: z.ZodError): string {
  const issues = error.issues.slice(0, 3).map((issue) => `${issue.path.join('.') || 'body'}: ${issue.message}`);
  const more = error.issues.length > 3 ? ` (and ${error.issues.length - 3} more)` : '';
  return `Not a Business Central notification: ${issues.join('; ')}${more}`;
}

/**
 * Decides what a notification body asks for, without any I/O. The clientState of every entry is
 * checked before the rest of the body is judged, so a caller without the secret learns nothing
 * about what a valid body looks like. Only entries for this company's customers resource count.
 */
export function planNotification(body: unknown, settings: { clientState: string; companyId: string }): NotificationPlan {
  const plan = planCompanyNotifications(body, { clientState: settings.clientState, companyIds: [settings.companyId] });
  if (plan.outcome !== 'accepted') return plan;
  const [only] = plan.companies;
  // Entries of another company are simply ignored here, as they always were.
  return only ? { ...only.plan, ignored: plan.ignored } : { outcome: 'accepted', customers: [], collections: [], deleted: [], ignored: plan.ignored };
}

/** A notification split by company: one plan per configured company it names. */
export interface CompanyNotifications {
  outcome: 'accepted';
  /** In the order of `companyIds`; a company the notification does not name is left out. */
  companies: Array<{ companyId: string; plan: AcceptedNotification }>;
  /** Entries acknowledged but not acted on: other resources, unknown change types and entries of companies not configured. */
  ignored: number;
  /** Of those, entries naming a company this deployment does not serve. */
  otherCompanies: number;
}

/**
 * As planNotification, for several companies of one environment: Business Central sends one subscription's
 * entries per POST, but one URL serves every company's subscription, so a POST may carry several companies.
 * Entries are routed by the company in `resource`; those of a company that is not configured are acknowledged
 * and ignored (counted).
 */
export function planCompanyNotifications(
  body: unknown,
  settings: { clientState: string; companyIds: readonly string[] },
): CompanyNotifications | { outcome: 'unauthorized' } | { outcome: 'invalid'; reason: string } {
  const envelope = z.looseObject({ value: z.array(z.unknown()) }).safeParse(body);
  if (!envelope.success) return { outcome: 'invalid', reason: 'Not a Business Central notification: expected an object with a "value" array' };

  const matches = clientStateComparator(settings.clientState);
  // Every entry is compared (no early exit) so the time taken does not reveal which entry failed.
  let authorized = true;
  for (const entry of envelope.data.value) {
    const received = typeof entry === 'object' && entry !== null ? (entry as Record<string, unknown>).clientState : undefined;
    if (!matches(received)) authorized = false;
  }
  if (!authorized) return { outcome: 'unauthorized' };

  const parsed = notificationBodySchema.safeParse(body);
  if (!parsed.success) return { outcome: 'invalid', reason: describeIssues(parsed.error) };

  const companies = new Map<string, CompanyPass>(settings.companyIds.map((companyId) => [normalizeGuid(companyId), newPass()]));
  let ignored = 0;
  let otherCompanies = 0;

  parsed.data.value.forEach((entry, order) => {
    const changeType = entry.changeType.trim().toLowerCase();
    const resource = parseResource(entry.resource);
    if (resource.kind === 'other') {
      ignored += 1;
      return;
    }
    const pass = companies.get(resource.companyId);
    if (!pass) {
      ignored += 1;
      otherCompanies += 1;
      return;
    }
    if (resource.kind === 'collection') {
      // Whatever the change type, a notification about the whole collection is answered by paging it.
      pass.collections.add(collectionResourcePath(entry.resource));
      pass.named = true;
      return;
    }
    if (!['created', 'updated', 'deleted', 'collection'].includes(changeType)) {
      ignored += 1;
      return;
    }
    pass.named = true;
    const modifiedAt = Date.parse(entry.lastModifiedDateTime ?? '');
    const previous = pass.latest.get(resource.customerId);
    const current = { changeType, order, modifiedAt: Number.isNaN(modifiedAt) ? Number.NEGATIVE_INFINITY : modifiedAt };
    // The latest change of an entity decides (created then deleted → deleted); ties go to the later entry.
    if (!previous || current.modifiedAt >= previous.modifiedAt) pass.latest.set(resource.customerId, current);
  });

  const planned: CompanyNotifications['companies'] = [];
  for (const [companyId, pass] of companies) if (pass.named) planned.push({ companyId, plan: planOf(pass) });
  return { outcome: 'accepted', companies: planned, ignored, otherCompanies };
}

interface CompanyPass {
  latest: Map<string, { changeType: string; order: number; modifiedAt: number }>;
  collections: Set<string>;
  /** Some entry of this company was accepted. */
  named: boolean;
}

function newPass(): CompanyPass {
  return { latest: new Map(), collections: new Set(), named: false };
}

function planOf(pass: CompanyPass): AcceptedNotification {
  const customers: CustomerChange[] = [];
  const deleted: string[] = [];
  for (const [customerId, change] of pass.latest) {
    if (change.changeType === 'deleted') deleted.push(customerId);
    else customers.push({ customerId, changeType: change.changeType === 'created' ? 'created' : 'updated' });
  }
  const all = [...pass.collections];
  const fullPass = all.find(isFullPass);
  return { outcome: 'accepted', customers, collections: fullPass ? [fullPass] : all, deleted, ignored: 0 };
}
