/** The company selector in the header: hidden with one company; its choice scopes every panel. */
import { byId, h } from '../dom';
import { companies, state } from '../state';

/** Keeps the selector in step with the configured companies; hidden with one company. */
export function renderCompanySelector(): void {
  const select = byId<HTMLSelectElement>('company');
  const wrapper = byId('company-choice');
  const list = companies();
  wrapper.hidden = list.length <= 1;
  if (state.company && list.length > 0 && !list.some((company) => company.companyId === state.company)) state.company = null;
  const wanted = [['', 'All companies'], ...list.map((company) => [company.companyId, company.companyName])];
  const current = [...select.options].map((option) => [option.value, option.text]);
  if (JSON.stringify(current) !== JSON.stringify(wanted)) {
    select.replaceChildren(...wanted.map(([value, text]) => h('option', { value: value ?? '' }, text ?? '')));
  }
  select.value = state.company ?? '';
}
