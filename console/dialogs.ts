/** The page's two ways of speaking to the operator: a toast that fades, and a confirmation every write waits for. */
import { byId, h, renderInto, type Child } from './dom';

export function toast(message: string, kind: 'info' | 'success' | 'error' = 'info'): void {
  const item = h('div', { class: `toast toast-${kind}` }, message);
  byId('toasts').append(item);
  setTimeout(() => item.remove(), kind === 'error' ? 12_000 : 6_000);
}

/** Every action that writes says what it will do and waits for a yes. */
export function confirmAction(title: string, body: Child, confirmLabel: string): Promise<boolean> {
  const dialog = byId<HTMLDialogElement>('confirm');
  byId('confirm-title').textContent = title;
  renderInto(byId('confirm-body'), `${Date.now()}-${Math.random()}`, body);
  const ok = byId<HTMLButtonElement>('confirm-ok');
  const cancel = byId<HTMLButtonElement>('confirm-cancel');
  ok.textContent = confirmLabel;
  const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
  return new Promise((resolve) => {
    const finish = (answer: boolean): void => {
      ok.removeEventListener('click', onOk);
      cancel.removeEventListener('click', onCancel);
      dialog.removeEventListener('close', onClose);
      if (dialog.open) dialog.close();
      opener?.focus();
      resolve(answer);
    };
    const onOk = (): void => finish(true);
    const onCancel = (): void => finish(false);
    const onClose = (): void => finish(false);
    ok.addEventListener('click', onOk);
    cancel.addEventListener('click', onCancel);
    dialog.addEventListener('close', onClose);
    dialog.showModal();
    cancel.focus();
  });
}
