/**
 * The filter bar above the panel's job list: a search box (see `jobfilter.ts`
 * for what it understands), a "show archived" toggle and how many jobs match.
 *
 * It stays at the top of the panel while the list scrolls, so a long list of
 * runs can be narrowed down from anywhere in it.
 */
import { el, setText } from './dom';
import { IJobQuery, parseQuery } from './jobfilter';

const PLACEHOLDER = 'Filter runs: words, tag:…, status:…';
const HELP =
  'Filter jobs. Words match the name, id, tags and note; restrict a word with status:, tag:, name: or id: ' +
  '(status:active, status:failed,cancelled); "quote phrases"; a leading - excludes (-status:failed). ' +
  'Escape clears.';

export class FilterBox {
  /** @param changed - Called when the query changes (on every keystroke). */
  constructor(private readonly _changed: () => void) {
    this.node = el('div', 'lepton-lab-filterbar');
    this._input = el('input', 'lepton-lab-search');
    this._input.type = 'search';
    this._input.placeholder = PLACEHOLDER;
    this._input.title = HELP;
    this._input.setAttribute('aria-label', 'Filter jobs');
    this._input.spellcheck = false;
    this._input.addEventListener('input', () => this._update());
    this._input.addEventListener('keydown', event => {
      if (event.key === 'Escape' && this._input.value) {
        event.stopPropagation();
        this._input.value = '';
        this._update();
      }
    });
    const toggle = el('label', 'lepton-lab-show-archived');
    toggle.title = 'Also list archived jobs';
    this._archived = el('input', '');
    this._archived.type = 'checkbox';
    this._archived.addEventListener('change', () => this._update());
    toggle.append(this._archived, document.createTextNode(' archived'));
    this._count = el('span', 'lepton-lab-filter-count');
    this.node.append(this._input, toggle, this._count);
  }

  readonly node: HTMLElement;

  /** The parsed query (parsed once per change, not per render). */
  get query(): IJobQuery {
    return this._query;
  }

  /** Whether anything narrows the list (text typed). */
  get active(): boolean {
    return this._query.terms.length > 0;
  }

  /** Show `shown of total` while a filter hides jobs. */
  showCount(shown: number, total: number, archived: number): void {
    const parts: string[] = [];
    if (shown !== total) {
      parts.push(`${shown} of ${total}`);
    }
    if (archived > 0 && !this._query.archived) {
      parts.push(`${archived} archived`);
    }
    setText(this._count, parts.join(' · '));
  }

  private _update(): void {
    this._query = parseQuery(this._input.value, this._archived.checked);
    this._changed();
  }

  private _input: HTMLInputElement;
  private _archived: HTMLInputElement;
  private _count: HTMLElement;
  private _query: IJobQuery = parseQuery('');
}
