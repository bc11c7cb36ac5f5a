/**
 * The TypeScript side of the shared progress rule: `tests/fixtures/job_progress.json` holds event
 * streams and what `lepton_lab/core/job_progress.py` makes of them (epoch, ETA, elapsed time,
 * downsampled curves); `tests/test_job_progress.py` checks the Python against the same file.
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { test } from 'node:test';

import { JobMetrics, SERIES_KEYS } from '../src/metrics';
import { IJobEvent } from '../src/payloads';

interface ICase {
  name: string;
  events: IJobEvent[];
  now: number | null;
  options?: { batch_points?: number; epoch_points?: number };
  expected: Record<string, any> & { series: Record<string, { xs: number[]; ys: number[] }> };
}

// Compiled to build-test/labextension/test/: the repository root is three levels up.
const FIXTURE = resolve(__dirname, '../../../tests/fixtures/job_progress.json');
const { cases } = JSON.parse(readFileSync(FIXTURE, 'utf-8')) as { cases: ICase[] };

function close(actual: number | null, expected: number | null, what: string): void {
  if (expected === null) {
    assert.equal(actual, null, what);
    return;
  }
  assert.ok(actual !== null && Math.abs(actual - expected) <= 1e-9 * Math.max(1, Math.abs(expected)), `${what}: ${actual} != ${expected}`);
}

test('the shared fixture has cases', () => {
  assert.ok(cases.length >= 5);
});

for (const item of cases) {
  test(`the panel's rule agrees with Python: ${item.name}`, () => {
    const metrics = new JobMetrics({ batchPoints: item.options?.batch_points, epochPoints: item.options?.epoch_points });
    metrics.apply(item.events);
    const now = item.now ?? undefined;
    const want = item.expected;
    assert.equal(metrics.status, want.status);
    assert.equal(metrics.step, want.step);
    assert.equal(metrics.totalSteps, want.total_steps);
    assert.equal(metrics.epochs, want.epochs);
    assert.equal(metrics.epochsDone, want.epochs_done);
    assert.equal(metrics.currentEpoch(), want.current_epoch);
    close(metrics.fraction(), want.fraction, 'fraction');
    close(metrics.elapsedSeconds(now), want.elapsed_s, 'elapsed');
    close(metrics.etaSeconds(now), want.eta_s, 'eta');
    for (const key of SERIES_KEYS) {
      const series = metrics.series[key];
      assert.equal(series.length, want.series[key].xs.length, `${key} length`);
      series.xs.forEach((x, i) => close(x, want.series[key].xs[i], `${key} x[${i}]`));
      series.ys.forEach((y, i) => close(y, want.series[key].ys[i], `${key} y[${i}]`));
    }
  });
}
