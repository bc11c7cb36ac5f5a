/**
 * The panel's filter box: a small query language over jobs.
 *
 *     status:running tag:sweep cnn
 *
 * Terms are separated by spaces and must all match (AND). `status:`, `tag:`,
 * `name:` and `id:` look at one field; `status:active` means queued or running
 * and `status:failed,cancelled` either; a bare word matches the name, id, a
 * tag or the note. Matching ignores case; `"two words"` keeps a phrase
 * together; a leading `-` negates a term (`-status:failed`). Archived jobs
 * are left out unless asked for (the panel's "show archived" toggle).
 *
 * No DOM or JupyterLab imports: unit-tested under plain Node, and cheap enough
 * to run on every keystroke over hundreds of jobs.
 */
import { IJob, JOB_STATUSES } from './payloads';

/** Fields a term can be restricted to. */
export const QUERY_FIELDS = ['status', 'tag', 'name', 'id'] as const;
export type QueryField = (typeof QUERY_FIELDS)[number];

export interface IQueryTerm {
  /** The field it looks at; `text` matches name, id, tags and note. */
  field: QueryField | 'text';
  /** Lower-case alternatives (`status:failed,cancelled`); any one may match. */
  values: string[];
  negated: boolean;
}

export interface IJobQuery {
  terms: IQueryTerm[];
  /** Include archived jobs. */
  archived: boolean;
}

/** Parse the filter box's text (never throws: anything unknown is plain text). */
export function parseQuery(text: string, archived = false): IJobQuery {
  const terms: IQueryTerm[] = [];
  for (const token of tokens(text)) {
    let body = token;
    let negated = false;
    if (body.startsWith('-') && body.length > 1) {
      negated = true;
      body = body.slice(1);
    }
    const colon = body.indexOf(':');
    const field = colon > 0 ? body.slice(0, colon).toLowerCase() : '';
    if ((QUERY_FIELDS as readonly string[]).includes(field)) {
      const values = unquote(body.slice(colon + 1))
        .toLowerCase()
        .split(',')
        .map(value => value.trim())
        .filter(Boolean);
      if (values.length > 0) {
        terms.push({ field: field as QueryField, values: expandStatuses(field, values), negated });
      }
      continue;
    }
    const value = unquote(body).toLowerCase();
    if (value) {
      terms.push({ field: 'text', values: [value], negated });
    }
  }
  return { terms, archived };
}

/** Whether `job` passes every term of `query`. */
export function matchesQuery(job: IJob, query: IJobQuery): boolean {
  if (job.archived && !query.archived) {
    return false;
  }
  for (const term of query.terms) {
    if (matchesTerm(job, term) === term.negated) {
      return false;
    }
  }
  return true;
}

/** The jobs of `jobs` that pass `query`, in their order. */
export function filterJobs(jobs: readonly IJob[], query: IJobQuery): IJob[] {
  if (query.terms.length === 0 && query.archived) {
    return [...jobs];
  }
  return jobs.filter(job => matchesQuery(job, query));
}

function matchesTerm(job: IJob, term: IQueryTerm): boolean {
  const name = (job.name ?? '').toLowerCase();
  const tags = (job.tags ?? []).map(tag => tag.toLowerCase());
  switch (term.field) {
    case 'status':
      return term.values.includes(job.status);
    case 'tag':
      // Exact tag, or a prefix of one (`tag:sweep` also finds `sweep-3`).
      return term.values.some(value => tags.some(tag => tag === value || tag.startsWith(value)));
    case 'name':
      return term.values.some(value => name.includes(value));
    case 'id':
      return term.values.some(value => job.id.toLowerCase().includes(value));
    default: {
      const note = (job.note ?? '').toLowerCase();
      const id = job.id.toLowerCase();
      return term.values.some(
        value => name.includes(value) || id.includes(value) || note.includes(value) || tags.some(tag => tag.includes(value))
      );
    }
  }
}

function expandStatuses(field: string, values: string[]): string[] {
  if (field !== 'status') {
    return values;
  }
  const expanded: string[] = [];
  for (const value of values) {
    if (value === 'active') {
      expanded.push('queued', 'running');
    } else if (value === 'finished' || value === 'done') {
      expanded.push(...JOB_STATUSES.filter(status => status !== 'queued' && status !== 'running'));
    } else {
      // A prefix is enough: `status:run`, `status:fail`.
      const found = JOB_STATUSES.filter(status => status.startsWith(value));
      expanded.push(...(found.length > 0 ? found : [value]));
    }
  }
  return expanded;
}

/** Split on spaces outside double quotes. */
function tokens(text: string): string[] {
  const found: string[] = [];
  let current = '';
  let quoted = false;
  for (const char of text) {
    if (char === '"') {
      quoted = !quoted;
      current += char;
    } else if (/\s/.test(char) && !quoted) {
      if (current) {
        found.push(current);
      }
      current = '';
    } else {
      current += char;
    }
  }
  if (current) {
    found.push(current);
  }
  return found;
}

function unquote(text: string): string {
  return text.replace(/"/g, '').trim();
}
