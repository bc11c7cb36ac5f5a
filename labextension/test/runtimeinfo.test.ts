import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { inputWaitLabel, runtimeRows, settingsText } from '../src/runtimeinfo';

const measured = {
  device: 'cpu',
  steps_per_execution: 64,
  jit_compile: false,
  precision: 'mixed_bfloat16',
  tf_data: { parallel_map: true, prefetch: 'auto', cache: 'none' },
  steps_per_epoch: 10,
  policy: {
    source: 'measured',
    reason: 'fastest of 2 measured settings',
    pinned: ['jit_compile'],
    probe_s: 1.234,
    budget_s: 2,
    candidates: [
      {
        settings: { steps_per_execution: 16, jit_compile: false },
        step_ms: 3.5,
        chosen: false
      },
      {
        settings: { steps_per_execution: 64, jit_compile: false },
        step_ms: 2.25,
        chosen: true
      },
      {
        settings: { steps_per_execution: 1, jit_compile: false },
        step_ms: null,
        skipped: 'budget'
      }
    ]
  }
};

test('runtimeRows names the choice, why, the probe cost and every candidate', () => {
  const rows = runtimeRows(measured);
  assert.deepEqual(rows[0], [
    'runtime',
    'device cpu · steps/execution 64 · XLA off · mixed_bfloat16 · parallel map · prefetch auto · cache none · 10 steps/epoch'
  ]);
  assert.deepEqual(rows[1], [
    'chosen',
    'measured: fastest of 2 measured settings; probe 1.23 s (budget 2.00 s); pinned jit_compile'
  ]);
  assert.deepEqual(
    rows.slice(2).map(row => row[1]),
    [
      'steps/execution 16 · XLA off: 3.500 ms/step',
      'steps/execution 64 · XLA off: 2.250 ms/step ← chosen',
      'steps/execution 1 · XLA off: not measured (budget)'
    ]
  );
});

test('a runtime block from before the policy shows its settings only', () => {
  const rows = runtimeRows({
    device: 'cpu',
    steps_per_execution: 16,
    jit_compile: false,
    precision: 'float32'
  });
  assert.deepEqual(rows, [['runtime', 'device cpu · steps/execution 16 · XLA off · float32']]);
});

test('settingsText reads XLA auto and a sequential map', () => {
  assert.equal(settingsText({ jit_compile: 'auto', parallel_map: false }), 'XLA auto · sequential map');
});

test('inputWaitLabel gives the wait and its share of the epoch, or nothing for older runs', () => {
  assert.equal(inputWaitLabel({ input_wait_s: 0.42, epoch_time_s: 2.1 }), 'waited for data 0.42 s of 2.10 s (20%)');
  assert.equal(inputWaitLabel({ input_wait_s: 0.5 }), 'waited for data 0.50 s');
  assert.equal(inputWaitLabel({ loss: 0.3, epoch_time_s: 2 }), '');
  assert.equal(inputWaitLabel(null), '');
});
