/**
 * Managing runs from the panel and the job view: rename, note, archive and
 * delete, each through a JupyterLab dialog (delete only after a confirmation
 * that names the run and its size).
 *
 * The server stores names, notes and the archived flag in the run directory's
 * `meta.json` (`PATCH jobs/{id}`) and deletes run directories with
 * `DELETE jobs/{id}/run`; every other client hears of it on the jobs stream.
 */
import { Dialog, InputDialog, showDialog, showErrorMessage } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';

import { button, el, messageOf, setText } from './dom';
import { LeptonModel } from './model';
import { CANCELLABLE_STATUSES, IJob, NAME_MAX, NOTE_MAX } from './payloads';

/** `1.4 MB`, as the Python `delete()` prompt writes it. */
export function formatMegabytes(bytes: number): string {
  return `${(bytes / 1e6).toFixed(bytes >= 50_000 ? 1 : 2)} MB`;
}

/** The name a job is shown by. */
function shownName(job: IJob): string {
  return job.name || job.spec?.name || job.id;
}

/** Ask for a new display name; resolves to the job after renaming, or null if not renamed. */
export async function renameRun(model: LeptonModel, job: IJob): Promise<IJob | null> {
  const result = await InputDialog.getText({
    title: `Rename run ${job.id}`,
    text: shownName(job),
    placeholder: 'empty: the name it was trained with',
    okLabel: 'Rename'
  });
  if (!result.button.accept || result.value === null) {
    return null;
  }
  const name = result.value.trim();
  if (name.length > NAME_MAX) {
    await showErrorMessage('Name too long', `A run name has at most ${NAME_MAX} characters; this one has ${name.length}.`);
    return null;
  }
  return guarded('Could not rename the run', () => model.annotate(job.id, { name: name || null }));
}

/** Edit the job's note in a multi-line box; resolves to the job after saving, or null. */
export async function editNote(model: LeptonModel, job: IJob): Promise<IJob | null> {
  const result = await showDialog({
    title: `Note on ${shownName(job)}`,
    body: new NoteEditor(job.note ?? ''),
    buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Save note' })],
    focusNodeSelector: 'textarea'
  });
  if (!result.button.accept || result.value === null) {
    return null;
  }
  return guarded('Could not save the note', () => model.annotate(job.id, { note: result.value || null }));
}

/** Archive or unarchive the job (no question: it is undone with one click). */
export function setArchived(model: LeptonModel, job: IJob, archived: boolean): Promise<IJob | null> {
  return guarded('Could not archive the run', () => model.annotate(job.id, { archived }));
}

/** Ask, naming the run and its size, then delete its run directory; resolves to whether it was deleted. */
export async function deleteRun(model: LeptonModel, job: IJob): Promise<boolean> {
  if (CANCELLABLE_STATUSES.includes(job.status)) {
    await showErrorMessage('Cancel it first', `Run ${job.id} is ${job.status}; cancel it first, then delete it.`);
    return false;
  }
  let size = '';
  try {
    const files = await model.client.artifacts(job.id);
    size = `, ${formatMegabytes(files.reduce((total, file) => total + (file.size || 0), 0))}`;
  } catch {
    // The question still names the run.
  }
  const body = el('div', 'lepton-lab-delete-question');
  body.append(
    el('p', '', `Delete run ${job.id} (${shownName(job)}${size})?`),
    el('p', '', 'Its folder (events, checkpoints, model, report) is removed from disk. This cannot be undone.')
  );
  const result = await showDialog({
    title: 'Delete run?',
    body: new Widget({ node: body }),
    buttons: [Dialog.cancelButton({ label: 'Keep it' }), Dialog.warnButton({ label: 'Delete' })],
    defaultButton: 0
  });
  if (!result.button.accept) {
    return false;
  }
  const done = await guarded('Could not delete the run', async () => {
    await model.deleteRun(job.id);
    return true;
  });
  return done === true;
}

async function guarded<T>(title: string, action: () => Promise<T>): Promise<T | null> {
  try {
    return await action();
  } catch (error) {
    await showErrorMessage(title, messageOf(error));
    return null;
  }
}

/** A multi-line text box as a dialog body (`InputDialog` has only single-line text). */
class NoteEditor extends Widget implements Dialog.IBodyWidget<string> {
  constructor(text: string) {
    super();
    this.addClass('lepton-lab-note-editor');
    this._area = document.createElement('textarea');
    this._area.value = text;
    this._area.rows = 8;
    this._area.maxLength = NOTE_MAX;
    this._area.placeholder = 'What this run tried, what came out of it…';
    this.node.append(this._area);
  }

  getValue(): string {
    return this._area.value;
  }

  private _area: HTMLTextAreaElement;
}

/**
 * The manage actions of one panel row and its note line. A "⋯" button (in
 * `buttons`) opens a bar of Rename, Note, Archive and Delete below the row's
 * buttons (`bar`), so a list of 100 runs keeps short rows. The row places
 * `noteNode`, `buttons` and `bar`, and calls `update`.
 */
export class RunActions {
  constructor(
    readonly id: string,
    private readonly _model: LeptonModel
  ) {
    this.noteNode = el('div', 'lepton-lab-job-note');
    this.noteNode.hidden = true;
    this._archivedLabel = el('span', 'lepton-lab-archived-label', 'archived');
    this._archivedLabel.hidden = true;
    const rename = button('Rename', 'lepton-lab-rename', 'Give this run another name (the trained name is kept)');
    rename.addEventListener('click', () => this._run(job => renameRun(this._model, job)));
    const note = button('Note', 'lepton-lab-note', 'Write a note on this run');
    note.addEventListener('click', () => this._run(job => editNote(this._model, job)));
    this._archive = button('Archive', 'lepton-lab-archive', 'Hide this run unless archived runs are shown');
    this._archive.addEventListener('click', () => this._run(job => setArchived(this._model, job, !job.archived)));
    this._delete = button('Delete', 'lepton-lab-delete', 'Delete this run and its files (asks first)');
    this._delete.addEventListener('click', () => this._run(job => deleteRun(this._model, job)));
    this._manage = [rename, note, this._archive, this._delete];
    this.bar = el('div', 'lepton-lab-job-manage');
    this.bar.hidden = true;
    this.bar.append(...this._manage);
    this._more = button('⋯', 'lepton-lab-more', 'Rename, note, archive or delete this run');
    this._more.setAttribute('aria-expanded', 'false');
    this._more.addEventListener('click', () => this.toggle());
    this.buttons = [this._more];
  }

  readonly noteNode: HTMLElement;
  /** Buttons for the row's action line. */
  readonly buttons: HTMLButtonElement[];
  /** The manage bar the "⋯" button opens. */
  readonly bar: HTMLElement;

  /** Show or hide the manage bar. */
  toggle(open = this.bar.hidden): void {
    this.bar.hidden = !open;
    this._more.setAttribute('aria-expanded', String(open));
    this._more.classList.toggle('lepton-lab-mod-active', open);
  }

  /** The label shown beside the status badge of archived runs. */
  get archivedLabel(): HTMLElement {
    return this._archivedLabel;
  }

  update(job: IJob, row: HTMLElement): void {
    const note = job.note ?? '';
    this.noteNode.hidden = !note;
    setText(this.noteNode, note.split('\n')[0]);
    this.noteNode.title = note;
    const archived = Boolean(job.archived);
    this._archivedLabel.hidden = !archived;
    if (row.dataset.archived !== String(archived)) {
      row.dataset.archived = String(archived);
      setText(this._archive, archived ? 'Unarchive' : 'Archive');
      this._archive.title = archived ? 'List this run again' : 'Hide this run unless archived runs are shown';
    }
    this._delete.hidden = CANCELLABLE_STATUSES.includes(job.status);
  }

  private _run(action: (job: IJob) => Promise<unknown>): void {
    const job = this._model.state.get(this.id);
    if (!job || this._busy) {
      return;
    }
    this._busy = true;
    for (const node of this._manage) {
      node.disabled = true;
    }
    void action(job).finally(() => {
      this._busy = false;
      for (const node of this._manage) {
        node.disabled = false;
      }
    });
  }

  private _more: HTMLButtonElement;
  private _manage: HTMLButtonElement[];
  private _archive: HTMLButtonElement;
  private _delete: HTMLButtonElement;
  private _archivedLabel: HTMLElement;
  private _busy = false;
}

/** The note of a run in its job view, with a button to edit it; says so when the run was deleted. */
export class RunNote {
  constructor(private readonly _model: LeptonModel) {
    this.node = el('div', 'lepton-lab-jobview-note');
    this._text = el('div', 'lepton-lab-jobview-note-text');
    this._edit = button('Add note', 'lepton-lab-note', 'Write a note on this run');
    this._edit.addEventListener('click', () => {
      if (this._job) {
        void editNote(this._model, this._job);
      }
    });
    this.node.append(this._text, this._edit);
  }

  readonly node: HTMLElement;

  /** Show `job`'s note; `deleted` when the run is gone from the server. */
  update(job: IJob, deleted = false): void {
    this._job = job;
    const note = job.note ?? '';
    this.node.dataset.state = deleted ? 'deleted' : note ? 'note' : 'empty';
    setText(this._text, deleted ? 'This run was deleted.' : note);
    this._edit.hidden = deleted;
    setText(this._edit, note ? 'Edit note' : 'Add note');
  }

  private _text: HTMLElement;
  private _edit: HTMLButtonElement;
  private _job: IJob | null = null;
}
