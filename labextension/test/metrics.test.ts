import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { JobMetrics } from '../src/metrics';
import { IJobEvent } from '../src/types';

/** Events of a run: `epochs` epochs of `steps` batches, one batch every `dt` seconds from t0. */
function run(epochs: number, steps: number, dt = 0.01, t0 = 1000): IJobEvent[] {
  const events: IJobEvent[] = [{ t: t0, type: 'status', status: 'running', epoch: 0, epochs }];
  let t = t0;
  for (let e = 1; e <= epochs; e++) {
    for (let s = 1; s <= steps; s++) {
      t += dt;
      const step = (e - 1) * steps + s;
      events.push({
        t,
        type: 'batch',
        step,
        epoch: e,
        metrics: { loss: 1 / step, accuracy: 1 - 1 / step },
        total_steps: epochs * steps,
        epochs
      });
    }
    events.push({
      t,
      type: 'epoch',
      step: e * steps,
      epoch: e,
      epochs,
      metrics: { loss: 1 / e, accuracy: 0.5 + e / 10, val_loss: 1.2 / e, val_accuracy: (4 + e) / 10, epoch_time_s: steps * dt }
    });
  }
  return events;
}

test('batch and epoch events become the latest step, metrics and curves', () => {
  const metrics = new JobMetrics();
  metrics.apply(run(2, 50), 103);
  assert.equal(metrics.step, 100);
  assert.equal(metrics.totalSteps, 100);
  assert.equal(metrics.epoch, 2);
  assert.equal(metrics.epochsDone, 2);
  assert.equal(metrics.after, 103);
  assert.equal(metrics.latest.loss, 1 / 100);
  assert.deepEqual(metrics.series.val_loss.xs, [50, 100]);
  assert.deepEqual(metrics.series.val_accuracy.ys, [0.5, 0.6]);
  assert.equal(metrics.series.loss.count, 100);
  assert.equal(metrics.lastEpoch?.val_accuracy, 0.6);
  assert.equal(metrics.fraction(), 1);
});

test('memory stays bounded for a long run', () => {
  const metrics = new JobMetrics({ batchPoints: 300, sparkPoints: 40 });
  metrics.apply(run(10, 10_000, 0.002));
  assert.equal(metrics.step, 100_000);
  assert.ok(metrics.series.loss.length <= 300);
  assert.ok(metrics.spark.length <= 40);
  assert.equal(metrics.series.epoch_loss.length, 10);
});

test('the ETA follows the recent step rate', () => {
  const metrics = new JobMetrics();
  const events = run(4, 100, 0.05); // 20 steps/s, 400 steps
  metrics.apply(events.slice(0, 1 + 100 + 1 + 50)); // epoch 1 done, 50 steps into epoch 2
  assert.equal(metrics.step, 150);
  const rate = metrics.stepRate();
  assert.ok(rate !== null && Math.abs(rate - 20) < 0.5, `rate ${rate}`);
  const eta = metrics.etaSeconds();
  assert.ok(eta !== null && Math.abs(eta - 250 / 20) < 0.5, `eta ${eta}`);
  // Time passing without events counts down.
  const later = metrics.etaSeconds((metrics.lastTime as number) + 5);
  assert.ok(later !== null && Math.abs(later - (eta - 5)) < 1e-6);
  assert.ok(Math.abs((metrics.fraction() as number) - 150 / 400) < 1e-9);
});

test('a finished run has no ETA', () => {
  const metrics = new JobMetrics();
  metrics.apply([...run(1, 10), { t: 2000, type: 'status', status: 'completed', epoch: 1 }]);
  assert.equal(metrics.status, 'completed');
  assert.equal(metrics.etaSeconds(), null);
});

test('without step totals the ETA comes from epoch times', () => {
  const metrics = new JobMetrics();
  metrics.apply([
    { t: 0, type: 'status', status: 'running', epochs: 5 },
    { t: 10, type: 'epoch', step: 10, epoch: 1, metrics: { loss: 1, epoch_time_s: 10 } },
    { t: 22, type: 'epoch', step: 20, epoch: 2, metrics: { loss: 1, epoch_time_s: 12 } }
  ]);
  assert.equal(metrics.etaSeconds(), 3 * 11);
  assert.equal(metrics.fraction(), 2 / 5);
});

test('after a resume repeated steps are not plotted twice', () => {
  const metrics = new JobMetrics();
  const first = run(2, 10).slice(0, 1 + 10 + 1 + 5); // epoch 1 + half of epoch 2, then a crash
  metrics.apply(first);
  assert.equal(metrics.step, 15);
  const resumed: IJobEvent[] = [
    { t: 5000, type: 'status', status: 'running', epoch: 1, epochs: 2 },
    ...Array.from({ length: 10 }, (_, i) => ({
      t: 5001 + i,
      type: 'batch' as const,
      step: 11 + i,
      epoch: 2,
      metrics: { loss: 0.01 }
    }))
  ];
  metrics.apply(resumed);
  assert.equal(metrics.step, 20);
  const xs = metrics.series.loss.xs;
  for (let i = 1; i < xs.length; i++) {
    assert.ok(xs[i] > xs[i - 1], `x went back at ${i}: ${xs}`);
  }
  assert.equal(metrics.series.loss.count, 20);
  assert.equal(metrics.epochsDone, 1);
});

test('status, eval and log events are recorded', () => {
  const metrics = new JobMetrics({ logLines: 2 });
  metrics.apply([
    { t: 1, type: 'log', message: 'a' },
    { t: 2, type: 'log', message: 'b' },
    { t: 3, type: 'log', message: 'c' },
    { t: 4, type: 'eval', step: 10, epoch: 1, metrics: { test_accuracy: 0.93, test_loss: 0.2 } },
    { t: 5, type: 'status', status: 'failed', error: 'ValueError: boom' }
  ]);
  assert.deepEqual(metrics.logs, ['b', 'c']);
  assert.equal(metrics.evaluation?.test_accuracy, 0.93);
  assert.equal(metrics.status, 'failed');
  assert.equal(metrics.error, 'ValueError: boom');
});

test('null metrics (NaN in the worker) do not break the curves', () => {
  const metrics = new JobMetrics();
  metrics.apply([
    { t: 1, type: 'batch', step: 1, epoch: 1, metrics: { loss: 0.5 } },
    { t: 2, type: 'batch', step: 2, epoch: 1, metrics: { loss: null } }
  ]);
  assert.equal(metrics.step, 2);
  assert.equal(metrics.latest.loss, null);
  assert.deepEqual(metrics.series.loss.ys, [0.5]);
});

test('an empty apply changes nothing but may move the offset', () => {
  const metrics = new JobMetrics();
  const version = metrics.version;
  metrics.apply([], 5);
  assert.equal(metrics.version, version);
  assert.equal(metrics.after, 5);
  metrics.apply([], 3);
  assert.equal(metrics.after, 5, 'the offset never moves back');
});
