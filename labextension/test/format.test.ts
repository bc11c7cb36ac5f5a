import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import {
  deviceLabel,
  formatBytes,
  formatDuration,
  formatMetric,
  formatTime,
  cancelQuestion,
  jobTag,
  latestMetrics,
  metricsLabel,
  originLabel,
  progressLabel,
  progressOf,
  reportHint,
  shortId,
  stepLabel,
  summaryCells
} from '../src/format';
import { JobMetrics } from '../src/metrics';
import { IJob } from '../src/payloads';

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
  const job: IJob = { run_dir: 'r', id: 'a', status: 'running', epochs: 4 };
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
    run_dir: 'r',
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
  const finished = progressOf({ run_dir: 'r', id: 'b', status: 'cancelled', epoch: 2, epochs: 4 }, null);
  assert.equal(finished.fraction, 0.5);
  assert.equal(progressOf({ run_dir: 'r', id: 'c', status: 'completed' }, null).fraction, 1);
  assert.equal(progressOf({ run_dir: 'r', id: 'd', status: 'queued' }, null).fraction, null);
});

test('latest metrics prefer the live batch values while running', () => {
  const job: IJob = {
    run_dir: 'r',
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

test('every job carries an origin tag, server jobs (and records without an origin) "server"', () => {
  const job: IJob = { run_dir: 'r', id: 'a', status: 'running' };
  assert.equal(originLabel(job)?.text, 'server');
  assert.equal(originLabel({ ...job, origin: 'server' })?.text, 'server');
  assert.match(originLabel({ ...job, origin: 'server' })?.title ?? '', /worker process this Jupyter server started/);
  assert.equal(originLabel({ ...job, origin: 'kernel' })?.text, 'kernel');
  assert.match(originLabel({ ...job, origin: 'kernel' })?.title ?? '', /notebook kernel/);
  assert.equal(originLabel({ ...job, origin: 'script' })?.text, 'script');
});

test('two jobs with one name differ in their tag: short id and start time', () => {
  const now = new Date(2026, 0, 1, 18, 0, 0);
  const a: IJob = { run_dir: 'r', id: '20260101-140207-cnn-1a2b', name: 'cnn', status: 'completed', created: new Date(2026, 0, 1, 14, 2, 7).toISOString() };
  const b: IJob = { ...a, id: '20260101-140207-cnn-9f0e', started: new Date(2026, 0, 1, 14, 2, 9).toISOString() };
  assert.equal(shortId(a.id), '1a2b');
  assert.equal(jobTag(a, now), '1a2b · 14:02:07');
  assert.equal(jobTag(b, now), '9f0e · 14:02:09');
  assert.equal(shortId('my-own-id'), 'my-own-id');
  assert.equal(jobTag({ run_dir: 'r', id: 'x', status: 'queued' }, now), 'x');
});

test('the cancel question names the job and says what cancelling does', () => {
  const job: IJob = { run_dir: 'r', id: '20260101-140207-cnn-1a2b', name: 'cnn', status: 'running', origin: 'kernel' };
  const question = cancelQuestion(job);
  assert.equal(question.title, 'Cancel "cnn" (1a2b)?');
  assert.match(question.body, /Resume continues from the last checkpoint/);
  assert.match(question.body, /kernel itself keeps running/);
  assert.match(cancelQuestion({ ...job, status: 'queued', origin: 'server' }).body, /will not start/);
});

test('a run without a report gets code that makes one, for its own run folder', () => {
  const hint = reportHint({ id: 'r', status: 'completed', run_dir: '/home/me/lepton-runs/r 1' });
  assert.match(hint.text, /no report yet/);
  assert.equal(hint.python, 'import lepton_lab as ll\nll.report("/home/me/lepton-runs/r 1")');
  assert.equal(hint.shell, "lepton-lab report '/home/me/lepton-runs/r 1'");
  assert.equal(reportHint({ id: 'r', status: 'completed', run_dir: '/runs/r' }).shell, 'lepton-lab report /runs/r');
  assert.match(reportHint({ run_dir: 'r', id: 'r', status: 'running' }).text, /once training has ended/);
});

test('each row of the model table shows the layer type beside its settings', () => {
  const row = { index: 1, layer: 'Conv2D', output_shape: [null, 8, 8, 32], params: 18496, description: '32 filters 3x3, same, relu' };
  assert.deepEqual(summaryCells(row), ['1', 'Conv2D', '32 filters 3x3, same, relu', '(None, 8, 8, 32)', '18,496']);
  const flatten = { index: 5, layer: 'Flatten', output_shape: [null, 256], params: 0, description: '' };
  assert.deepEqual(summaryCells(flatten), ['5', 'Flatten', '', '(None, 256)', '0']);
});

test('the epoch shown is the one definition of JobMetrics, for followed and unfollowed jobs', () => {
  const metrics = new JobMetrics();
  metrics.apply([
    { t: 1, type: 'status', status: 'running', epoch: 0, epochs: 10 },
    { t: 2, type: 'epoch', step: 10, epoch: 3, metrics: { loss: 1 } },
    { t: 3, type: 'batch', step: 12, epoch: 4, metrics: { loss: 1 } }
  ]);
  const job: IJob = { run_dir: 'r', id: 'a', status: 'running', epochs: 10, epoch: 3, progress: { epoch: 4, epochs_done: 3 } };
  assert.equal(progressOf(job, metrics).epoch, 4);
  assert.equal(progressOf(job, null).epoch, 4);
  // Cancelled in epoch 4 after 3 epochs: both say 3, whether or not the stream has ended yet.
  const cancelled: IJob = { ...job, status: 'cancelled' };
  assert.equal(progressOf(cancelled, metrics).epoch, 3);
  assert.equal(progressOf(cancelled, null).epoch, 3);
});
