/** The webhook's own URL: WEBHOOK_NOTIFICATION_URL, else (in Azure) derived from the app's host name; `none` turns webhooks off. */


export function isNone(value: unknown): boolean {
  return typeof value === 'string' && value.trim().toLowerCase() === 'none';
}

/** The webhook's URL as this app is reached: the setting, else (in Azure) the app's own host name; `none`: no webhook. */
export const WEBHOOK_ROUTE = '/api/webhooks/business-central';

export function webhookNotificationUrl(setting: string | undefined, websiteHostname: string | undefined): string | undefined {
  if (setting === 'none') return undefined;
  if (setting) return setting;
  // WEBSITE_HOSTNAME is set by the platform in Azure, so `azd up` needs no second pass to enable webhooks.
  return websiteHostname && /^[a-z0-9.-]+$/iu.test(websiteHostname) ? `https://${websiteHostname.toLowerCase()}${WEBHOOK_ROUTE}` : undefined;
}
