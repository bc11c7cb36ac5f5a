import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { JobsState } from '../src/jobs';
import { IJob } from '../src/payloads';

const job = (id: string, status: IJob['status'], created: string, extra: Partial<IJob> = {}): IJob => ({
  run_dir: 'r',
  id,
  name: id,
  status,
  created,
  ...extra
});

test('a snapshot fills the list, newest first, with no transitions to report', () => {
  const state = new JobsState();
  const transitions = state.apply({
    type: 'snapshot',
    jobs: [job('a', 'completed', '2025-01-01T10:00'), job('b', 'running', '2025-01-01T11:00')]
  });
  assert.equal(state.initialized, true);
  assert.deepEqual(
    state.list().map(j => j.id),
    ['b', 'a']
  );
  assert.deepEqual(
    transitions.map(t => [t.id, t.from, t.to]),
    [
      ['a', null, 'completed'],
      ['b', null, 'running']
    ]
  );
});

test('status messages report transitions and keep fields the message lacks', () => {
  const state = new JobsState();
  state.upsert(job('a', 'running', 't', { spec: { dataset: { name: 'digits' } } }));
  const [transition] = state.apply({ type: 'status', job: job('a', 'completed', 't', { error: null }) });
  assert.deepEqual([transition.from, transition.to], ['running', 'completed']);
  assert.equal(state.get('a')?.spec?.dataset.name, 'digits');
  assert.deepEqual(state.apply({ type: 'status', job: job('a', 'completed', 't') }), []);
});

test('progress messages update the job without a transition', () => {
  const state = new JobsState();
  state.upsert(job('a', 'running', 't', { epochs: 5 }));
  const version = state.version;
  const transitions = state.apply({
    type: 'progress',
    id: 'a',
    step: 30,
    epoch: 2,
    total_steps: 100,
    epochs: 5,
    epochs_done: 1,
    metrics: { loss: 0.4 }
  });
  assert.deepEqual(transitions, []);
  assert.ok(state.version > version);
  const updated = state.get('a')!;
  assert.equal(updated.progress?.step, 30);
  assert.equal(updated.progress?.metrics?.loss, 0.4);
  assert.equal(updated.epoch, 1, 'epoch is epochs done, as in the job record');
  assert.equal((updated as unknown as Record<string, unknown>).type, undefined);
  state.apply({ type: 'progress', id: 'unknown', step: 1 });
  assert.equal(state.get('unknown'), undefined);
});

test('a snapshot after a reconnect reports what changed while disconnected', () => {
  const state = new JobsState();
  state.replaceAll([job('a', 'running', '1'), job('gone', 'queued', '0')]);
  const transitions = state.replaceAll([job('a', 'failed', '1', { error: 'OOM' }), job('new', 'completed', '2')]);
  assert.deepEqual(
    transitions.map(t => [t.id, t.from, t.to]),
    [
      ['a', 'running', 'failed'],
      ['new', null, 'completed']
    ]
  );
  assert.equal(state.get('gone'), undefined);
});

test('filters select by status, active jobs or all', () => {
  const state = new JobsState();
  state.replaceAll([
    job('q', 'queued', '1'),
    job('r', 'running', '2'),
    job('c', 'completed', '3'),
    job('f', 'failed', '4')
  ]);
  assert.deepEqual(
    state.list('active').map(j => j.id),
    ['r', 'q']
  );
  assert.deepEqual(
    state.list('failed').map(j => j.id),
    ['f']
  );
  assert.equal(state.list('all').length, 4);
  assert.deepEqual(state.counts(), { queued: 1, running: 1, completed: 1, failed: 1 });
});

test('malformed messages are ignored', () => {
  const state = new JobsState();
  assert.deepEqual(state.apply({ type: 'mystery' }), []);
  assert.deepEqual(state.apply({ type: 'status' } as never), []);
  assert.equal(state.size, 0);
});
