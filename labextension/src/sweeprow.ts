/**
 * One sweep in the panel's list: its name, state, best value and trial counts, with a toggle
 * that shows its trials (ordinary job rows, which the panel places in `trials`), a button to
 * open the sweep view and one to cancel the sweep.
 */
import { bar, button, el, setBar, setText } from './dom';
import { ISweep } from './sweeppayloads';
import { bestLabel, countsLabel, settingsLabel, sweepProgress, sweepTag } from './sweeps';

export interface ISweepRowActions {
  /** Open the sweep view. */
  open: (id: string) => void;
  /** Resolves to false when the user decided not to cancel after all. */
  cancel: (id: string) => Promise<boolean>;
  /** Show or hide the sweep's trials. */
  toggle: (id: string) => void;
}

export class SweepRow {
  constructor(
    readonly id: string,
    private readonly _actions: ISweepRowActions
  ) {
    this.node = el('li', 'lepton-lab-job lepton-lab-sweep');
    this.node.dataset.sweepId = id;
    const head = el('div', 'lepton-lab-job-head');
    this._toggle = button('▸', 'lepton-lab-sweep-toggle', 'Show the trials');
    this._toggle.setAttribute('aria-expanded', 'false');
    this._toggle.addEventListener('click', () => this._actions.toggle(id));
    this._name = el('a', 'lepton-lab-job-name lepton-lab-sweep-name');
    this._name.setAttribute('role', 'button');
    this._name.tabIndex = 0;
    this._name.title = `Open the sweep view of ${id}`;
    this._name.addEventListener('click', () => this._actions.open(id));
    const kind = el('span', 'lepton-lab-sweep-kind', 'sweep');
    this._badge = el('span', 'lepton-lab-badge lepton-lab-sweep-state');
    this._tag = el('span', 'lepton-lab-job-tag');
    this._tag.title = id;
    head.append(this._toggle, this._name, kind, this._badge, this._tag);
    this._bar = bar(null, 'lepton-lab-progress');
    this._best = el('div', 'lepton-lab-sweep-best');
    this._counts = el('div', 'lepton-lab-sweep-counts');
    const actions = el('div', 'lepton-lab-job-actions');
    const open = button('Open', 'lepton-lab-open lepton-lab-sweep-open', 'Open the sweep view: best so far, trials, parameters');
    open.addEventListener('click', () => this._actions.open(id));
    this._trialsButton = button('Trials', 'lepton-lab-sweep-trials-button', 'Show the trials');
    this._trialsButton.addEventListener('click', () => this._actions.toggle(id));
    this._cancel = button('Cancel', 'lepton-lab-cancel lepton-lab-sweep-cancel', 'Cancel the sweep: no new trials, running ones cancelled');
    this._cancel.addEventListener('click', () => {
      this._cancel.disabled = true;
      void this._actions.cancel(id).then(asked => {
        if (!asked) {
          this._cancel.disabled = false;
        }
      });
    });
    actions.append(open, this._trialsButton, this._cancel);
    this.trials = el('ul', 'lepton-lab-jobs lepton-lab-sweep-trials');
    this.trials.hidden = true;
    this.node.append(head, this._bar, this._best, this._counts, actions, this.trials);
  }

  readonly node: HTMLElement;
  /** Where the panel puts the trial rows while the sweep is expanded. */
  readonly trials: HTMLElement;

  /** @param listed - How many of its trials the panel's filter lists. */
  update(sweep: ISweep, expanded: boolean, listed: number): void {
    setText(this._name, sweep.name || sweep.id);
    this.node.title = settingsLabel(sweep);
    setText(this._tag, sweepTag(sweep));
    setText(this._badge, sweep.state);
    if (this.node.dataset.status !== sweep.state) {
      this.node.dataset.status = sweep.state;
      this._badge.dataset.status = sweep.state;
      this._cancel.disabled = false;
    }
    this._cancel.hidden = sweep.state !== 'running';
    setBar(this._bar, sweepProgress(sweep));
    setText(this._best, bestLabel(sweep));
    setText(this._counts, countsLabel(sweep));
    this.node.dataset.expanded = String(expanded);
    this.trials.hidden = !expanded;
    setText(this._toggle, expanded ? '▾' : '▸');
    this._toggle.setAttribute('aria-expanded', String(expanded));
    const what = expanded ? 'Hide the trials' : 'Show the trials';
    this._toggle.title = what;
    this._trialsButton.title = what;
    setText(this._trialsButton, expanded ? 'Hide trials' : `Trials (${listed})`);
    this._trialsButton.disabled = listed === 0 && !expanded;
  }

  dispose(): void {
    this.node.remove();
  }

  private _toggle: HTMLButtonElement;
  private _name: HTMLElement;
  private _badge: HTMLElement;
  private _tag: HTMLElement;
  private _bar: HTMLElement;
  private _best: HTMLElement;
  private _counts: HTMLElement;
  private _trialsButton: HTMLButtonElement;
  private _cancel: HTMLButtonElement;
}
