/**
 * Questions the panel and the job view ask before acting (JupyterLab dialogs).
 */
import { Dialog, showDialog } from '@jupyterlab/apputils';

import { cancelQuestion } from './format';
import { IJob } from './payloads';
import { ISweep } from './sweeppayloads';
import { cancelSweepQuestion } from './sweeps';
import { IModel } from './modelpayloads';
import { undeployQuestion } from './models';

/** Ask whether to cancel `job`; resolves to true only when the user confirms. */
export async function confirmCancel(job: IJob): Promise<boolean> {
  const { title, body } = cancelQuestion(job);
  const result = await showDialog({
    title,
    body,
    buttons: [Dialog.cancelButton({ label: 'Keep training' }), Dialog.warnButton({ label: 'Cancel job' })],
    defaultButton: 0
  });
  return result.button.accept;
}

/** Ask whether to cancel `sweep`; resolves to true only when the user confirms. */
export async function confirmCancelSweep(sweep: ISweep): Promise<boolean> {
  const { title, body } = cancelSweepQuestion(sweep);
  const result = await showDialog({
    title,
    body,
    buttons: [Dialog.cancelButton({ label: 'Keep sweeping' }), Dialog.warnButton({ label: 'Cancel sweep' })],
    defaultButton: 0
  });
  return result.button.accept;
}

/** Ask whether to undeploy `model`; resolves to true only when the user confirms. */
export async function confirmUndeploy(model: IModel): Promise<boolean> {
  const { title, body } = undeployQuestion(model);
  const result = await showDialog({
    title,
    body,
    buttons: [Dialog.cancelButton({ label: 'Keep serving' }), Dialog.warnButton({ label: 'Undeploy' })],
    defaultButton: 0
  });
  return result.button.accept;
}
