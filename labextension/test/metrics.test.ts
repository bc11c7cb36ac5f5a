import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { JobMetrics } from '../src/metrics';
import { IJobEvent } from '../src/payloads';

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
  // Time passing without events counts down, for as long as the usual gap between events
  // (0.05 s here); a longer stall holds the ETA instead of running it out.
  const later = metrics.etaSeconds((metrics.lastTime as number) + 0.04);
  assert.ok(later !== null && Math.abs(later - (eta - 0.04)) < 1e-6);
  const stalled = metrics.etaSeconds((metrics.lastTime as number) + 5);
  assert.ok(stalled !== null && Math.abs(stalled - (eta - 0.05)) < 1e-6, `stalled ${stalled}`);
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

/**
 * A run as a busy host trains it: a batch event every `burst` steps (steps_per_execution), 20
 * steps/s while training, and a validation pause of `pause` s after each epoch (no events).
 */
function pausedRun(epochs: number, steps: number, burst: number, pause: number, t0 = 1000): IJobEvent[] {
  const events: IJobEvent[] = [{ t: t0, type: 'status', status: 'running', epoch: 0, epochs }];
  let t = t0 + 3; // start-up: loading data, tracing
  for (let e = 1; e <= epochs; e++) {
    for (let s = burst; s <= steps; s += burst) {
      t += burst / 20;
      const step = (e - 1) * steps + s;
      events.push({ t, type: 'batch', step, epoch: e, metrics: { loss: 1 }, total_steps: epochs * steps, epochs });
    }
    t += pause;
    events.push({ t, type: 'epoch', step: e * steps, epoch: e, epochs, metrics: { loss: 1, epoch_time_s: steps / 20 + pause } });
  }
  return events;
}

test('the ETA counts down steadily through validation pauses instead of swinging', () => {
  const events = pausedRun(10, 160, 16, 8); // 8 s of training + 8 s of validation per epoch
  const end = events[events.length - 1].t;
  const metrics = new JobMetrics();
  let next = 0;
  let previous: number | null = null;
  // The panel looks twice a second; events arrive as they were written.
  for (let now = events[0].t; now < end; now += 0.5) {
    const arrived: IJobEvent[] = [];
    while (next < events.length && events[next].t <= now) {
      arrived.push(events[next++]);
    }
    metrics.apply(arrived);
    const eta = metrics.etaSeconds(now);
    if (metrics.epoch < 2 || eta === null) {
      continue; // until the first epoch end has shown what a validation pause costs
    }
    const truth = end - now;
    assert.ok(Math.abs(eta - truth) <= 0.1 * truth + 2, `ETA ${eta.toFixed(1)} s at t=${now}, truth ${truth} s`);
    if (previous !== null) {
      // Half a second later the ETA is about half a second less: no jumps, up or down.
      assert.ok(Math.abs(eta - (previous - 0.5)) <= 1.5, `ETA jumped ${previous.toFixed(1)} → ${eta.toFixed(1)} s at t=${now}`);
    }
    previous = eta;
  }
});

test('elapsed time counts every session of a resumed run', () => {
  const metrics = new JobMetrics();
  metrics.apply([
    { t: 1000, type: 'status', status: 'running', epoch: 0, epochs: 4 },
    { t: 1005, type: 'batch', step: 5, epoch: 1, metrics: { loss: 1 } },
    { t: 1010, type: 'status', status: 'cancelled', epoch: 1 }
  ]);
  assert.equal(metrics.elapsedSeconds(2000), 10, 'a cancelled run does not count up');
  metrics.apply([
    { t: 5000, type: 'status', status: 'running', epoch: 1, epochs: 4 },
    { t: 5004, type: 'batch', step: 12, epoch: 2, metrics: { loss: 1 } }
  ]);
  assert.equal(metrics.elapsedSeconds(5007), 10 + 7);
  // A session that ended without a status (the process was killed) counts to its last event.
  metrics.apply([
    { t: 9000, type: 'status', status: 'running', epoch: 1, epochs: 4 },
    { t: 9010, type: 'status', status: 'completed', epoch: 4 }
  ]);
  assert.equal(metrics.elapsedSeconds(99_999), 10 + 4 + 10);
  assert.equal(new JobMetrics().elapsedSeconds(5), null);
});

test('a resumed session starts with the ETA of the previous one, not none', () => {
  const metrics = new JobMetrics();
  metrics.apply(run(4, 100, 0.05).slice(0, 1 + 100 + 1 + 20));
  const rate = metrics.stepRate();
  metrics.apply([{ t: 9000, type: 'status', status: 'running', epoch: 1, epochs: 4 }]);
  assert.equal(metrics.stepRate(), rate);
  assert.ok(metrics.etaSeconds(9000) !== null);
});

test('the current epoch: the one in progress while running, the epochs done once ended', () => {
  const metrics = new JobMetrics();
  metrics.apply([{ t: 1, type: 'status', status: 'running', epoch: 0, epochs: 10 }]);
  assert.equal(metrics.currentEpoch(), 0);
  metrics.apply(run(3, 10).slice(1));
  metrics.apply([{ t: 2000, type: 'batch', step: 31, epoch: 4, metrics: { loss: 1 } }]);
  assert.equal(metrics.currentEpoch(), 4);
  assert.equal(metrics.epoch, 4);
  // Cancelled in epoch 4 after 3 whole epochs.
  assert.equal(metrics.currentEpoch('cancelled'), 3, 'the server already says cancelled');
  metrics.apply([{ t: 2001, type: 'status', status: 'cancelled', epoch: 3 }]);
  assert.equal(metrics.currentEpoch(), 3);
  assert.equal(metrics.epoch, 3, 'the field agrees with currentEpoch()');
  // Resumed: epoch 4 again once its first batch arrives.
  metrics.apply([{ t: 3000, type: 'status', status: 'running', epoch: 3, epochs: 10 }]);
  assert.equal(metrics.currentEpoch(), 3);
  metrics.apply([{ t: 3001, type: 'batch', step: 31, epoch: 4, metrics: { loss: 1 } }]);
  assert.equal(metrics.currentEpoch(), 4);
});

test('a resume from an earlier checkpoint counts the epochs done from its restart point', () => {
  const metrics = new JobMetrics();
  metrics.apply(run(5, 10)); // 5 epochs logged, then the process was killed
  assert.equal(metrics.epochsDone, 5);
  // The last checkpoint was after epoch 3 (checkpoints are throttled): epochs 4 and 5 train again.
  metrics.apply([{ t: 9000, type: 'status', status: 'running', epoch: 3, epochs: 5 }]);
  assert.equal(metrics.epochsDone, 3);
  assert.equal(metrics.currentEpoch(), 3);
  metrics.apply([
    { t: 9001, type: 'batch', step: 31, epoch: 4, metrics: { loss: 0.1 } },
    { t: 9002, type: 'epoch', step: 40, epoch: 4, metrics: { loss: 0.1 } }
  ]);
  assert.equal(metrics.currentEpoch(), 4);
  assert.equal(metrics.epochsDone, 4);
  // One value per epoch, the latest: epochs 4 and 5 of the killed session are gone, and
  // epoch 4 shows its retrained value (the policy of lepton_lab.core.epochs).
  assert.deepEqual(metrics.series.epoch_loss.xs, [10, 20, 30, 40]);
  assert.equal(metrics.series.epoch_loss.last?.y, 0.1);
  assert.deepEqual(metrics.series.loss.xs.slice(-2), [30, 31], 'batch points after the restart are redrawn');
  assert.equal(metrics.series.loss.last?.y, 0.1);
});
