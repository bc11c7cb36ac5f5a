/**
 * The sweep view's trial table: number, status, objective value, epochs run and one column per
 * parameter; the best trial is marked and clicking a row opens that trial's job view.
 */
import { el, setText } from './dom';
import { formatMetric } from './format';
import { ITrial } from './sweeppayloads';
import { formatParam, paramLabels } from './sweeps';

export class TrialTable {
  constructor(private readonly _open: (jobId: string) => void) {
    this.node = el('table', 'lepton-lab-table lepton-lab-trials');
    this._head = el('tr', '');
    const thead = el('thead', '');
    thead.append(this._head);
    this._body = el('tbody', '');
    this.node.append(thead, this._body);
    this._body.addEventListener('click', event => {
      const row = (event.target as Element).closest('tr');
      const id = row?.dataset.jobId;
      if (id) {
        this._open(id);
      }
    });
  }

  readonly node: HTMLTableElement;

  /**
   * @param paths - The parameter paths, in the search space's order.
   * @param metric - The objective's name, the value column's heading.
   * @param best - The number of the best trial, or null.
   */
  update(trials: readonly ITrial[], paths: readonly string[], metric: string, best: number | null): void {
    const labels = paramLabels(paths);
    // "epochs run", not "epochs": `train.epochs` may well be one of the parameters.
    const headings = ['#', 'status', metric, 'epochs run', ...paths.map(path => labels.get(path) ?? path)];
    const key = headings.join('\u0000');
    if (key !== this._headKey) {
      this._headKey = key;
      this._head.replaceChildren(
        ...headings.map((text, index) => {
          const th = el('th', index === 1 ? '' : 'lepton-lab-num', text);
          if (index >= 4) {
            th.title = paths[index - 4];
          }
          return th;
        })
      );
    }
    const rows = [...trials].sort((a, b) => a.number - b.number);
    while (this._body.rows.length > rows.length) {
      this._body.deleteRow(-1);
    }
    rows.forEach((trial, index) => {
      const tr = this._body.rows[index] ?? this._body.insertRow();
      const cells = [
        String(trial.number),
        trial.status,
        formatMetric(trial.value),
        trial.epochs_run === undefined ? '–' : String(trial.epochs_run),
        ...paths.map(path => formatParam(trial.params?.[path]))
      ];
      while (tr.cells.length > cells.length) {
        tr.deleteCell(-1);
      }
      cells.forEach((text, column) => {
        const td = tr.cells[column] ?? tr.insertCell();
        if (column === 1) {
          td.className = '';
          let badge = td.firstElementChild as HTMLElement | null;
          if (!badge) {
            badge = el('span', 'lepton-lab-badge');
            td.append(badge);
          }
          setText(badge, text);
          badge.dataset.status = text;
        } else {
          td.className = 'lepton-lab-num';
          setText(td, text);
        }
      });
      tr.dataset.number = String(trial.number);
      tr.dataset.status = trial.status;
      tr.dataset.best = String(trial.number === best);
      if (trial.job_id) {
        tr.dataset.jobId = trial.job_id;
        tr.title = `Open the job view of trial #${trial.number}`;
      } else {
        delete tr.dataset.jobId;
        tr.title = '';
      }
    });
  }

  private _head: HTMLTableRowElement;
  private _body: HTMLTableSectionElement;
  private _headKey = '';
}
