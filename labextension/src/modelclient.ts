/**
 * Typed calls to the deployment routes (`models`, `models/{name}`, `models/{name}/metrics`,
 * `jobs/{id}/exports`) over the LeptonClient's authenticated transport.
 *
 * No JupyterLab imports: the unit tests drive these with the client's recording fake.
 */
import type { LeptonClient } from './client';
import type {
  ExportFormat,
  IDeployRequest,
  IExport,
  IExportsPage,
  IModel,
  IModelMetrics,
  IModelsPage,
  Quantize
} from './modelpayloads';

function modelPath(name: string): string {
  return `models/${encodeURIComponent(name)}`;
}

function exportsPath(jobId: string): string {
  return `jobs/${encodeURIComponent(jobId)}/exports`;
}

/** Every deployed model. */
export async function listModels(client: LeptonClient): Promise<IModel[]> {
  return (await client.request<IModelsPage>('models')).models;
}

export function getModel(client: LeptonClient, name: string): Promise<IModel> {
  return client.request<IModel>(modelPath(name));
}

/** Deploy a run's SavedModel export (made first when the run has none); resolves to the model (201). */
export function deployModel(client: LeptonClient, request: IDeployRequest): Promise<IModel> {
  return client.request<IModel>('models', { method: 'POST', body: JSON.stringify(request) });
}

/** Stop a model's worker and remove its deployment (the run's export is kept). */
export async function undeployModel(client: LeptonClient, name: string): Promise<void> {
  await client.request<unknown>(modelPath(name), { method: 'DELETE' });
}

/** A model's monitoring JSON. */
export function modelMetrics(client: LeptonClient, name: string): Promise<IModelMetrics> {
  return client.request<IModelMetrics>(`${modelPath(name)}/metrics`);
}

/** The `export.json` of each export of a run. */
export async function listExports(client: LeptonClient, jobId: string): Promise<IExport[]> {
  return (await client.request<IExportsPage>(exportsPath(jobId))).exports;
}

/** Export a run (the server runs the exporter in a worker process); resolves to its `export.json`. */
export function exportRun(
  client: LeptonClient,
  jobId: string,
  format: ExportFormat,
  quantize: Quantize
): Promise<IExport> {
  return client.request<IExport>(exportsPath(jobId), { method: 'POST', body: JSON.stringify({ format, quantize }) });
}
