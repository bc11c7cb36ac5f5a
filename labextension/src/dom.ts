/**
 * Small DOM helpers shared by the panel and the job view.
 */
import { ApiError } from './client';

/** A new element with a class and optional text. */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, className: string, text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) {
    node.className = className;
  }
  if (text !== undefined) {
    node.textContent = text;
  }
  return node;
}

export function button(label: string, className: string, title: string): HTMLButtonElement {
  const node = el('button', `lepton-lab-button ${className}`, label);
  node.type = 'button';
  node.title = title;
  return node;
}

/** A key/value row. */
export function kv(label: string, value: string, className = ''): HTMLElement {
  const row = el('div', `lepton-lab-kv ${className}`.trim());
  row.append(el('span', 'lepton-lab-key', label), el('span', 'lepton-lab-value', value));
  return row;
}

/** A progress bar element; `setBar` moves it. */
export function bar(fraction: number | null, className: string): HTMLElement {
  const outer = el('div', `lepton-lab-bar ${className}`);
  outer.appendChild(el('div', 'lepton-lab-bar-fill'));
  setBar(outer, fraction);
  return outer;
}

export function setBar(outer: HTMLElement, fraction: number | null): void {
  const fill = outer.firstElementChild as HTMLElement;
  // Written as the browser normalises it ("37.5%", "100%"), so unchanged widths are not rewritten.
  const width = fraction === null ? '0%' : `${Number((fraction * 100).toFixed(1))}%`;
  if (fill.style.width !== width) {
    fill.style.width = width;
  }
  outer.dataset.known = fraction === null ? 'false' : 'true';
}

export function setText(node: HTMLElement, text: string): void {
  if (node.textContent !== text) {
    node.textContent = text;
  }
}

/** The message of an API error (or any error) for the user. */
export function messageOf(error: unknown): string {
  if (error instanceof ApiError) {
    return `${error.message} (HTTP ${error.status})`;
  }
  return error instanceof Error ? error.message : String(error);
}

