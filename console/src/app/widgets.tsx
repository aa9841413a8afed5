import type { ComponentChildren, JSX } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import { ApiError } from './api';
import { useSession } from './context';
import type { I18n } from './i18n';
import { visible } from './text';

/** Server text, shown as a text node with hidden characters made visible. */
export function Text({ value }: { value: string | null | undefined }): JSX.Element {
  return <>{value === null || value === undefined ? '' : visible(value)}</>;
}

export function Link({ href, children, class: className }: { href: string; children: ComponentChildren; class?: string }): JSX.Element {
  const { navigate } = useSession();
  const onClick = (e: MouseEvent): void => {
    if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(href);
  };
  return (
    <a href={href} onClick={onClick} class={className}>
      {children}
    </a>
  );
}

export function errorText(i18n: I18n, err: unknown): string {
  if (err instanceof ApiError) {
    if (err.status === 0) return i18n.t('error.network');
    if (err.status === 401) return i18n.t('error.session');
    return i18n.t('error.generic', { detail: visible(err.message || err.code) });
  }
  return i18n.t('error.generic', { detail: visible(err instanceof Error ? err.message : String(err)) });
}

export function ErrorLine({ error }: { error: unknown }): JSX.Element | null {
  const { i18n } = useSession();
  if (error === null || error === undefined) return null;
  return (
    <p class="error" role="alert">
      {errorText(i18n, error)}
    </p>
  );
}

/** A modal confirmation (the native <dialog>), open while `open` is true. */
export function Confirm(props: { open: boolean; title: string; children: ComponentChildren; onConfirm: () => void; onClose: () => void; busy?: boolean }): JSX.Element {
  const { i18n } = useSession();
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (props.open && !d.open) d.showModal();
    if (!props.open && d.open) d.close();
  }, [props.open]);
  return (
    <dialog ref={ref} class="confirm" onClose={props.onClose} aria-labelledby="confirm-title">
      <h2 id="confirm-title">{props.title}</h2>
      <div class="confirm-body">{props.children}</div>
      <div class="actions">
        <button type="button" class="secondary" onClick={props.onClose}>
          {i18n.t('common.cancel')}
        </button>
        <button type="button" class="primary" data-testid="confirm" disabled={props.busy === true} onClick={props.onConfirm}>
          {i18n.t('common.confirm')}
        </button>
      </div>
    </dialog>
  );
}

export function Progress({ value, label }: { value: number; label: string }): JSX.Element {
  return (
    <div class="progress">
      <progress max={1} value={value} aria-label={label} />
      <span class="progress-text" data-testid="progress-text">
        {label}
      </span>
    </div>
  );
}

/** Previous / page n / next, for cursor pages and for pages of a list read whole. */
export function Pager(props: { page: number; hasPrevious: boolean; hasNext: boolean; onPrevious: () => void; onNext: () => void }): JSX.Element {
  const { i18n } = useSession();
  return (
    <div class="actions pager">
      <button type="button" class="secondary" disabled={!props.hasPrevious} onClick={props.onPrevious}>
        {i18n.t('common.previous')}
      </button>
      <span>{i18n.t('common.page', { n: props.page })}</span>
      <button type="button" class="secondary" disabled={!props.hasNext} onClick={props.onNext}>
        {i18n.t('common.next')}
      </button>
    </div>
  );
}
