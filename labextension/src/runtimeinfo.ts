/**
 * What a run's runtime block says, as text for the job view: the settings the runtime policy
 * chose, why (measured, cached, default or resumed), the candidates it timed, and how long the
 * latest epoch waited for data. The same lines as `lepton-lab show`
 * (`lepton_lab.core.runtime_policy.describe`).
 *
 * No JupyterLab imports: the unit tests load this under plain Node.
 */
import type { IRuntime } from './payloads';

/** One timed (or skipped) setting of the runtime probe. */
export interface IRuntimeCandidate {
  settings: Record<string, unknown>;
  step_ms: number | null;
  skipped?: string;
  chosen?: boolean;
}

/** `runtime.policy` in spec.json (absent in runs trained before the policy existed). */
export interface IRuntimePolicy {
  source: string;
  reason: string;
  pinned?: string[];
  probe_s?: number;
  budget_s?: number | null;
  candidates?: IRuntimeCandidate[];
}

/** "steps/execution 16 · XLA off · mixed_bfloat16 · parallel map · prefetch auto". */
export function settingsText(settings: Record<string, unknown>): string {
  const parts: string[] = [];
  if (settings.steps_per_execution !== undefined) {
    parts.push(`steps/execution ${settings.steps_per_execution}`);
  }
  if (settings.jit_compile !== undefined) {
    const jit = settings.jit_compile;
    parts.push(jit === 'auto' ? 'XLA auto' : `XLA ${jit ? 'on' : 'off'}`);
  }
  if (settings.precision !== undefined) {
    parts.push(String(settings.precision));
  }
  if (settings.parallel_map !== undefined) {
    parts.push(settings.parallel_map ? 'parallel map' : 'sequential map');
  }
  if (settings.prefetch !== undefined) {
    parts.push(`prefetch ${settings.prefetch}`);
  }
  return parts.join(' · ');
}

/** [label, text] rows for a runtime block: settings, the reason, then one row per candidate. */
export function runtimeRows(runtime: IRuntime): [string, string][] {
  const tfData = (runtime.tf_data ?? {}) as Record<string, unknown>;
  const settings = { ...runtime, ...tfData } as Record<string, unknown>;
  const parts = [runtime.device ? `device ${runtime.device}` : '', settingsText(settings)];
  if (tfData.cache !== undefined) {
    parts.push(`cache ${tfData.cache}`);
  }
  if (runtime.steps_per_epoch) {
    parts.push(`${runtime.steps_per_epoch} steps/epoch`);
  }
  const rows: [string, string][] = [['runtime', parts.filter(Boolean).join(' · ')]];
  const policy = runtime.policy as IRuntimePolicy | undefined;
  if (!policy) {
    return rows;
  }
  let why = `${policy.source}: ${policy.reason}`;
  if (policy.probe_s) {
    why += `; probe ${policy.probe_s.toFixed(2)} s`;
    if (typeof policy.budget_s === 'number') {
      why += ` (budget ${policy.budget_s.toFixed(2)} s)`;
    }
  }
  if (policy.pinned && policy.pinned.length > 0) {
    why += `; pinned ${policy.pinned.join(', ')}`;
  }
  rows.push(['chosen', why]);
  for (const candidate of policy.candidates ?? []) {
    const timing =
      typeof candidate.step_ms === 'number'
        ? `${candidate.step_ms.toFixed(3)} ms/step`
        : `not measured (${candidate.skipped ?? 'skipped'})`;
    rows.push(['candidate', `${settingsText(candidate.settings)}: ${timing}${candidate.chosen ? ' ← chosen' : ''}`]);
  }
  return rows;
}

/**
 * "waited for data 0.42 s of 2.10 s (20%)" for an epoch's metrics; '' when the epoch has no
 * `input_wait_s` (runs from before it was recorded).
 */
export function inputWaitLabel(metrics: Record<string, number | null | undefined> | null | undefined): string {
  const wait = metrics?.input_wait_s;
  if (typeof wait !== 'number' || !Number.isFinite(wait)) {
    return '';
  }
  const epoch = metrics?.epoch_time_s;
  if (typeof epoch !== 'number' || !(epoch > 0)) {
    return `waited for data ${wait.toFixed(2)} s`;
  }
  const share = Math.min(100, Math.round((100 * wait) / epoch));
  return `waited for data ${wait.toFixed(2)} s of ${epoch.toFixed(2)} s (${share}%)`;
}
