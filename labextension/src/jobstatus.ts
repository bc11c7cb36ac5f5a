/**
 * The status part of a job's row and of its view: badge, origin label, Cancel and Resume.
 *
 * Both show the same things for the same job, so they share this one function; a new status
 * or origin rule changes here only.
 */

import { setText } from './dom';
import { originLabel } from './format';
import { CANCELLABLE_STATUSES, IJob, RESUMABLE_STATUSES } from './payloads';

/** The elements that show a job's status. */
export interface IStatusParts {
  /** The row or view; its `data-status` drives the status colours. */
  node: HTMLElement;
  badge: HTMLElement;
  origin: HTMLElement;
  cancel: HTMLButtonElement;
  resume: HTMLButtonElement;
}

/**
 * Show `job`'s status in `parts`.
 *
 * A changed status re-enables Cancel and Resume: a click disables its button until the server
 * answers with the next status.
 */
export function showStatus(parts: IStatusParts, job: IJob): void {
  setText(parts.badge, job.status);
  if (parts.node.dataset.status !== job.status || parts.badge.dataset.status !== job.status) {
    parts.node.dataset.status = job.status;
    parts.badge.dataset.status = job.status;
    parts.cancel.disabled = false;
    parts.resume.disabled = false;
  }
  const origin = originLabel(job);
  parts.origin.hidden = !origin;
  setText(parts.origin, origin?.text ?? '');
  parts.origin.title = origin?.title ?? '';
  parts.cancel.hidden = !CANCELLABLE_STATUSES.includes(job.status);
  parts.resume.hidden = !RESUMABLE_STATUSES.includes(job.status);
}
