import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { JobMetrics } from '../src/metrics';
import { completionMessage, finalMetric, shouldNotify } from '../src/notifications';
import { IJob } from '../src/payloads';

const job: IJob = { run_dir: 'r', id: 'j1', name: 'digits mlp', status: 'completed', epochs: 2, epoch: 2 };

test('only jobs seen queued or running that complete or fail are news', () => {
  assert.equal(shouldNotify({ id: 'j1', from: 'running', to: 'completed', job }), true);
  assert.equal(shouldNotify({ id: 'j1', from: 'queued', to: 'failed', job }), true);
  assert.equal(shouldNotify({ id: 'j1', from: null, to: 'completed', job }), false);
  assert.equal(shouldNotify({ id: 'j1', from: 'running', to: 'cancelled', job }), false);
  assert.equal(shouldNotify({ id: 'j1', from: 'failed', to: 'completed', job }), false);
});

test('the final metric prefers test accuracy, then validation, then training', () => {
  const metrics = new JobMetrics();
  metrics.apply([{ t: 1, type: 'epoch', step: 10, epoch: 1, metrics: { loss: 0.5, accuracy: 0.8, val_accuracy: 0.75 } }]);
  assert.deepEqual(finalMetric(metrics), { key: 'val_accuracy', label: 'validation accuracy', value: 0.75 });
  metrics.apply([{ t: 2, type: 'eval', metrics: { test_accuracy: 0.9123, test_loss: 0.3 } }]);
  assert.equal(finalMetric(metrics)?.key, 'test_accuracy');
  assert.equal(finalMetric(null, { loss: 0.4 })?.key, 'loss');
  assert.equal(finalMetric(null, null), null);
});

test('a completion message names the job, the epochs and the final metric', () => {
  const metrics = new JobMetrics();
  metrics.apply([
    { t: 1, type: 'epoch', step: 10, epoch: 2, epochs: 2, metrics: { loss: 0.5 } },
    { t: 2, type: 'eval', metrics: { test_accuracy: 0.9123 } }
  ]);
  const { type, message } = completionMessage({ id: 'j1', from: 'running', to: 'completed', job }, metrics);
  assert.equal(type, 'success');
  assert.equal(message, 'Lepton Lab: "digits mlp" completed after 2/2 epochs — test accuracy 0.912');
});

test('a failure message quotes the first line of the error', () => {
  const failed: IJob = { ...job, status: 'failed', epoch: 1, error: 'ResourceExhaustedError: OOM\ntraceback…' };
  const { type, message } = completionMessage({ id: 'j1', from: 'running', to: 'failed', job: failed }, null);
  assert.equal(type, 'error');
  assert.equal(message, 'Lepton Lab: "digits mlp" failed after 1/2 epochs: ResourceExhaustedError: OOM');
});
