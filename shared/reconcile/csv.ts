import type { ReconcileReport } from './report';

export const CSV_COLUMNS = ['category', 'customerId', 'customerNumber', 'ipaasCustomerId', 'errorCode', 'field', 'from', 'to'] as const;
/** A report over configured companies names each row's company first. */
export const COMPANY_CSV_COLUMNS = ['companyName', 'companyId', ...CSV_COLUMNS] as const;

/**
 * RFC 4180 field: quoted when it holds a comma, quote, CR or LF (quotes doubled). A value a spreadsheet would run
 * as a formula (starting with = + - @, tab or CR) gets a leading apostrophe, so opening the report runs nothing.
 */
export function csvField(value: string | number | null): string {
  if (value === null) return '';
  let text = String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/u.test(text)) text = `'${text}`;
  return /[",\r\n]/u.test(text) ? `"${text.replace(/"/gu, '""')}"` : text;
}

/**
 * The report's items as CSV: a header, then one row per changed field (an item without changes is one row with
 * empty field/from/to). CRLF line ends, as RFC 4180 and spreadsheets expect.
 */
export function reportToCsv(report: Pick<ReconcileReport, 'items' | 'companies'>): string {
  const withCompany = report.companies !== undefined;
  const lines = [(withCompany ? COMPANY_CSV_COLUMNS : CSV_COLUMNS).join(',')];
  for (const item of report.items) {
    const company = withCompany ? [item.companyName ?? null, item.companyId ?? null] : [];
    const head = [...company, item.category, item.customerId, item.customerNumber, item.ipaasCustomerId, item.errorCode].map(csvField);
    const changes = item.changes.length > 0 ? item.changes : [null];
    for (const change of changes) {
      lines.push([...head, csvField(change?.field ?? null), csvField(change?.from ?? null), csvField(change?.to ?? null)].join(','));
    }
  }
  return `${lines.join('\r\n')}\r\n`;
}
