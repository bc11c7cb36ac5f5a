import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import {
  deviceLabel,
  formatBytes,
  formatDuration,
  formatMetric,
  formatTime,
  latestMetrics,
  metricsLabel,
  originLabel,
  progressLabel,
  progressOf,
  stepLabel
} from '../src/format';
import { JobMetrics } from '../src/metrics';
import { IJob } from '../src/types';

test('metrics show about three significant digits', () => {
  assert.equal(formatMetric(0.31245), '0.312');
  assert.equal(formatMetric(0.9), '0.9');
  assert.equal(formatMetric(1234.56), '1235');
  assert.equal(formatMetric(0.00001234), '1.2e-5');
  assert.equal(formatMetric(0), '0');
  assert.equal(formatMetric(null), '–');
  assert.equal(formatMetric(NaN), 'NaN');
});

test('durations read as seconds, m:ss or h:mm:ss', () => {
  assert.equal(formatDuration(42.4), '42 s');
  assert.equal(formatDuration(185), '3:05');
  assert.equal(formatDuration(3729), '1:02:09');
  assert.equal(formatDuration(null), '–');
  assert.equal(formatDuration(-1), '–');
});

test('bytes use binary units', () => {
  assert.equal(formatBytes(512), '512 B');
  assert.equal(formatBytes(1536), '1.5 KiB');
  assert.equal(formatBytes(80 * 1024 ** 3), '80.0 GiB');
  assert.equal(formatBytes(undefined), '–');
});

test('progress of a followed job comes from its events, with an ETA', () => {
  const job: IJob = { id: 'a', status: 'running', epochs: 4 };
  const metrics = new JobMetrics();
  const events = [];
  for (let step = 1; step <= 150; step++) {
    events.push({ t: step * 0.1, type: 'batch' as const, step, epoch: step <= 100 ? 1 : 2, total_steps: 400, epochs: 4, metrics: { loss: 1 } });
  }
  metrics.apply(events);
  const progress = progressOf(job, metrics);
  assert.equal(progress.epoch, 2);
  assert.equal(progress.epochs, 4);
  assert.equal(progress.fraction, 150 / 400);
  assert.ok(progress.eta !== null && Math.abs(progress.eta - 25) < 0.1, `eta ${progress.eta}`);
  assert.equal(progressLabel(progress, 'running'), 'epoch 2/4 · ETA 25 s');
  assert.equal(stepLabel(progress), 'step 150/400');
});

test('progress of an unfollowed job comes from its record', () => {
  const job: IJob = {
    id: 'a',
    status: 'running',
    epochs: 5,
    epoch: 1,
    progress: { step: 30, epoch: 2, total_steps: 100, epochs: 5, epochs_done: 1 }
  };
  const progress = progressOf(job, null);
  assert.equal(progress.fraction, 0.3);
  assert.equal(progress.epoch, 2);
  assert.equal(progress.eta, null);
  assert.equal(progressLabel(progress, 'running'), 'epoch 2/5');
  const finished = progressOf({ id: 'b', status: 'cancelled', epoch: 2, epochs: 4 }, null);
  assert.equal(finished.fraction, 0.5);
  assert.equal(progressOf({ id: 'c', status: 'completed' }, null).fraction, 1);
  assert.equal(progressOf({ id: 'd', status: 'queued' }, null).fraction, null);
});

test('latest metrics prefer the live batch values while running', () => {
  const job: IJob = {
    id: 'a',
    status: 'running',
    progress: { metrics: { loss: 0.5, accuracy: 0.8 }, epoch_metrics: { loss: 0.6, val_loss: 0.7 } }
  };
  assert.deepEqual(latestMetrics(job), { loss: 0.5, val_loss: 0.7, accuracy: 0.8 });
  const metrics = new JobMetrics();
  metrics.apply([{ t: 1, type: 'batch', step: 9, epoch: 1, metrics: { loss: 0.25, accuracy: 0.9 } }]);
  assert.equal(latestMetrics(job, metrics).loss, 0.25);
  assert.equal(metricsLabel({ loss: 0.25, accuracy: 0.9 }), 'loss 0.25 · acc 0.9');
  assert.equal(metricsLabel({}), '');
});

test('device labels name the GPU, memory and utilisation', () => {
  const label = deviceLabel({
    id: 'gpu:0',
    kind: 'gpu',
    index: 0,
    name: 'NVIDIA H100',
    memory_used: 2 * 1024 ** 3,
    memory_total: 80 * 1024 ** 3,
    utilization: 45
  });
  assert.equal(label, 'GPU 0: NVIDIA H100 · 2.0 GiB/80.0 GiB · 45% util');
  assert.equal(deviceLabel({ id: 'cpu', kind: 'cpu', name: 'x86_64', cores: 2, utilization: null }), 'CPU x86_64 · 2 cores');
});

test('times show the clock today and the date otherwise', () => {
  const now = new Date(2025, 0, 2, 12, 0, 0);
  assert.equal(formatTime(new Date(2025, 0, 2, 9, 5, 7).toISOString(), now), '09:05:07');
  assert.equal(formatTime(new Date(2024, 11, 31, 23, 59, 0).toISOString(), now), '2024-12-31 23:59');
  assert.equal(formatTime(null, now), '–');
});

test('only jobs the server did not start carry an origin tag', () => {
  const job: IJob = { id: 'a', status: 'running' };
  assert.equal(originLabel(job), null);
  assert.equal(originLabel({ ...job, origin: 'server' }), null);
  assert.equal(originLabel({ ...job, origin: 'kernel' })?.text, 'kernel');
  assert.match(originLabel({ ...job, origin: 'kernel' })?.title ?? '', /notebook kernel/);
  assert.equal(originLabel({ ...job, origin: 'script' })?.text, 'script');
});
