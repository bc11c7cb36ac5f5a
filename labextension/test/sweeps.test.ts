import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { LeptonModel } from '../src/model';
import { shouldNotify, sweepMessage } from '../src/notifications';
import { logLabel, logTicks, parcoordsLayout } from '../src/parcoords';
import { IJob } from '../src/payloads';
import { ISweep, ITrial, sweepIdOf, trialNumberOf } from '../src/sweeppayloads';
import {
  ISweepTransition,
  SweepsState,
  bestLabel,
  bestSoFar,
  cancelSweepQuestion,
  countsLabel,
  formatParam,
  groupEntries,
  importanceRows,
  paramLabels,
  sweepProgress
} from '../src/sweeps';
import { FakeServer, ManualTimers, SocketLog } from './fakes';

const sweep = (id: string, extra: Partial<ISweep> = {}): ISweep => ({
  id,
  name: `sweep ${id}`,
  state: 'running',
  created: 1_764_550_000,
  strategy: 'tpe',
  pruner: 'median',
  max_trials: 10,
  objective: { metric: 'val_accuracy', direction: 'maximize' },
  space: {
    'train.learning_rate': { type: 'float', low: 1e-4, high: 1e-2, log: true },
    'train.batch_size': { type: 'categorical', choices: [32, 64, 128] }
  },
  counts: { queued: 1, running: 2, completed: 5, pruned: 3, failed: 0, cancelled: 0 },
  best: { number: 4, job_id: 'j4', value: 0.973, params: {} },
  importance: null,
  ...extra
});

const job = (id: string, created: string, tags: string[] = [], status: IJob['status'] = 'completed'): IJob => ({
  run_dir: 'r',
  id,
  name: id,
  status,
  created,
  tags
});

const trialJob = (id: string, sweepId: string, number: number, created: string): IJob =>
  job(id, created, ['mine', `sweep:${sweepId}`, `trial:${number}`]);

const trial = (number: number, status: string, value: number | null, params: ITrial['params']): ITrial => ({
  number,
  job_id: `j${number}`,
  status,
  params,
  value,
  epochs_run: 2
});

test('a trial job names its sweep and number by its tags; other jobs name none', () => {
  const tagged = trialJob('a', 'sw-1', 7, 't');
  assert.equal(sweepIdOf(tagged), 'sw-1');
  assert.equal(trialNumberOf(tagged), 7);
  assert.equal(sweepIdOf(job('b', 't', ['sweep-3', 'sweep:'])), null);
  assert.equal(trialNumberOf(job('b', 't', ['trial:x'])), null);
});

test('sweeps come from snapshots and sweep messages; only changes of known sweeps are transitions', () => {
  const state = new SweepsState();
  const first = state.apply({ type: 'snapshot', sweeps: [sweep('sw-1'), sweep('sw-2', { created: 1_764_560_000 })] });
  assert.equal(first.changed, true);
  assert.deepEqual(
    state.list().map(s => s.id),
    ['sw-2', 'sw-1']
  );
  assert.deepEqual(
    first.transitions.map(t => [t.id, t.from, t.to]),
    [
      ['sw-1', null, 'running'],
      ['sw-2', null, 'running']
    ]
  );
  const progress = state.apply({ type: 'sweep', sweep: sweep('sw-1', { counts: { completed: 6 } }) });
  assert.deepEqual([progress.changed, progress.transitions], [true, []]);
  assert.equal(state.get('sw-1')?.counts?.completed, 6);
  const ended = state.apply({ type: 'sweep', sweep: sweep('sw-1', { state: 'completed' }) });
  assert.deepEqual(
    ended.transitions.map(t => [t.from, t.to]),
    [['running', 'completed']]
  );
  // A snapshot from a server without sweeps says nothing about them.
  assert.deepEqual(state.apply({ type: 'snapshot' }), { changed: false, transitions: [] });
  assert.equal(state.size, 2);
});

test('trials are grouped under their sweep, which sits where its newest trial falls', () => {
  const jobs = [
    job('late', '2026-12-01T10:05:00Z'),
    trialJob('t1', 'sw-1', 1, '2026-12-01T10:04:00Z'),
    job('middle', '2026-12-01T10:03:00Z'),
    trialJob('t0', 'sw-1', 0, '2026-12-01T10:02:00Z'),
    trialJob('stray', 'sw-unknown', 0, '2026-12-01T10:01:00Z'),
    job('early', '2026-12-01T09:00:00Z')
  ];
  const sweeps = [sweep('sw-1', { created: Date.parse('2026-12-01T10:00:00Z') / 1000 }), sweep('sw-empty', { created: 0 })];
  const entries = groupEntries(jobs, sweeps, () => false);
  assert.deepEqual(
    entries.map(e => (e.kind === 'job' ? e.job.id : `${e.sweep.id}[${e.trials.map(t => t.id).join(',')}]`)),
    ['late', 'sw-1[t1,t0]', 'middle', 'stray', 'early']
  );
  // With nothing filtered a sweep without a listed trial shows too (by its creation time).
  const all = groupEntries(jobs, sweeps, () => true);
  assert.equal(all[all.length - 1].kind === 'sweep' && all[all.length - 1].kind, 'sweep');
});

test('the counts, best value, progress and cancel question say what the sweep is doing', () => {
  const s = sweep('sw-1', { counts: { queued: 1, running: 2, completed: 5, pruned: 3, failed: 1 } });
  assert.equal(countsLabel(s), '5 done · 2 running · 3 pruned · 1 failed · 1 queued');
  assert.equal(bestLabel(s), 'best val_accuracy 0.973 (#4)');
  assert.equal(bestLabel(sweep('sw-2', { best: null })), 'best val_accuracy: none yet');
  assert.equal(sweepProgress(s), 0.9);
  assert.equal(sweepProgress(sweep('sw-3', { state: 'completed', counts: { completed: 4 } })), 1);
  const question = cancelSweepQuestion(s);
  assert.equal(question.title, 'Cancel sweep "sweep sw-1"?');
  assert.match(question.body, /^Its 2 running trials are cancelled and no new trial starts \(1 queued\)\./);
});

test('the best-so-far curve counts completed trials only and carries on through pruned ones', () => {
  const trials = [
    trial(2, 'completed', 0.9, {}),
    trial(0, 'completed', 0.8, {}),
    trial(1, 'pruned', 0.95, {}),
    trial(3, 'completed', 0.85, {}),
    trial(4, 'running', 0.99, {})
  ];
  assert.deepEqual(bestSoFar(trials, false), [
    [0, 0.8],
    [1, 0.8],
    [2, 0.9],
    [3, 0.9]
  ]);
  assert.deepEqual(bestSoFar(trials, true), [
    [0, 0.8],
    [1, 0.8],
    [2, 0.8],
    [3, 0.8]
  ]);
  assert.deepEqual(bestSoFar([trial(0, 'pruned', 0.3, {}), trial(1, 'completed', 0.5, {})], false), [[1, 0.5]]);
});

test('parameter labels are the last part of the path unless two would read the same', () => {
  const labels = paramLabels(['train.learning_rate', 'model.layers.2.rate', 'augment.ops.0.rate', 'train.batch_size']);
  assert.deepEqual(
    [...labels.values()],
    ['learning_rate', 'layers.2.rate', 'ops.0.rate', 'batch_size']
  );
  assert.equal(formatParam(0.00312), '0.00312');
  assert.equal(formatParam(64), '64');
  assert.equal(formatParam(null), 'None');
  assert.deepEqual(importanceRows({ a: 0.2, b: 0.7, c: 0.1 }), [
    ['b', 0.7],
    ['a', 0.2],
    ['c', 0.1]
  ]);
  assert.deepEqual(importanceRows(null), []);
});

test('parallel coordinates: log and categorical axes, the objective last, the best line drawn on top', () => {
  const trials = [
    trial(0, 'completed', 0.5, { 'train.learning_rate': 1e-4, 'train.batch_size': 32 }),
    trial(1, 'pruned', 0.3, { 'train.learning_rate': 1e-2, 'train.batch_size': 128 }),
    trial(4, 'completed', 0.9, { 'train.learning_rate': 1e-3, 'train.batch_size': 64 }),
    trial(5, 'completed', 0.7, { 'train.learning_rate': 3e-3, 'train.batch_size': 64 })
  ];
  const height = 230; // plot from y=30 to y=218
  const { axes, lines } = parcoordsLayout(sweep('sw-1'), trials, 400, height);
  assert.deepEqual(
    axes.map(a => [a.key, a.log]),
    [
      ['train.learning_rate', true],
      ['train.batch_size', false],
      ['objective', false]
    ]
  );
  assert.equal(axes[2].label, 'val_accuracy');
  assert.deepEqual(
    axes[0].ticks.map(t => t.label),
    ['1e-4', '1e-3', '0.01']
  );
  assert.deepEqual(
    axes[1].ticks.map(t => t.label),
    ['32', '64', '128']
  );
  const best = lines[lines.length - 1];
  assert.equal(best.number, 4);
  assert.equal(best.best, true);
  // 1e-3 is half way up the log axis from 1e-4 to 1e-2; 64 is the middle choice.
  assert.deepEqual(best.points[0], [axes[0].x, (30 + 218) / 2]);
  assert.deepEqual(best.points[1], [axes[1].x, (30 + 218) / 2]);
  const pruned = lines.find(l => l.number === 1)!;
  assert.equal(pruned.shade, null);
  assert.equal(lines[0], pruned, 'faint lines first');
  assert.equal(lines.find(l => l.number === 0)!.shade, 0);
  assert.ok(Math.abs(lines.find(l => l.number === 5)!.shade! - 0.5) < 1e-9);
  // A first axis with long category names moves right to keep them in the plot.
  const presets = sweep('sw-2', { space: { 'model.preset': { type: 'categorical', choices: ['mlp', 'small_cnn_wide'] } } });
  const wide = parcoordsLayout(presets, [trial(0, 'completed', 0.5, { 'model.preset': 'mlp' })], 400, height);
  assert.ok(wide.axes[0].x >= 6 * 'small_cnn_wide'.length, `axis at ${wide.axes[0].x}`);
  assert.equal(wide.axes[1].x, 400 - 44);
  assert.deepEqual(logTicks(2e-4, 5e-4), [2e-4, 5e-4]);
  assert.equal(logLabel(3e-5), '3e-5');
});

test('the model reads GET sweeps, follows sweep messages and cancels with DELETE', async () => {
  const cancelled = sweep('sw-1', { state: 'cancelled' });
  const server = new FakeServer({
    'GET jobs': [200, { jobs: [] }],
    'GET sweeps': [200, { sweeps: [sweep('sw-1')] }],
    'DELETE sweeps/sw-1': [200, cancelled]
  });
  const sockets = new SocketLog();
  const timers = new ManualTimers();
  const model = new LeptonModel({
    client: server.client('http://h/x/', 'tok'),
    connect: sockets.connect,
    socketOptions: { setTimeout: timers.setTimeout, clearTimeout: timers.clearTimeout }
  });
  const transitions: ISweepTransition[] = [];
  model.sweepTransitions.connect((_, t) => transitions.push(t));
  let changes = 0;
  model.changed.connect(() => (changes += 1));
  await model.refresh();
  assert.equal(model.sweeps.get('sw-1')?.state, 'running');
  model.start();
  await new Promise(resolve => setImmediate(resolve)); // start's own GET jobs and sweeps answered
  const before = changes;
  sockets.last('/stream?token').send({ type: 'sweep', sweep: sweep('sw-1', { counts: { completed: 7 } }) });
  assert.equal(model.sweeps.get('sw-1')?.counts?.completed, 7);
  assert.equal(changes, before + 1);
  await model.cancelSweep('sw-1');
  assert.deepEqual(
    server.requests.map(r => `${r.method} ${new URL(r.url).pathname}`).filter(r => r.includes('sweeps')),
    ['GET /x/lepton-lab/api/sweeps', 'GET /x/lepton-lab/api/sweeps', 'DELETE /x/lepton-lab/api/sweeps/sw-1']
  );
  assert.deepEqual(
    transitions.map(t => [t.from, t.to]),
    [['running', 'cancelled']]
  );
  model.dispose();
});

test('a server without sweeps (404) is not an error', async () => {
  const server = new FakeServer({ 'GET jobs': [200, { jobs: [] }] });
  const model = new LeptonModel({ client: server.client(), connect: new SocketLog().connect });
  const errors: Error[] = [];
  model.errors.connect((_, e) => errors.push(e));
  await model.refresh();
  assert.deepEqual(errors, []);
  assert.equal(model.sweeps.size, 0);
});

test('trials are not announced one by one; the sweep is when it ends', () => {
  const trialDone = { id: 't', from: 'running' as const, to: 'completed' as const, job: trialJob('t', 'sw-1', 0, 't') };
  assert.equal(shouldNotify(trialDone), false);
  assert.equal(shouldNotify({ ...trialDone, job: job('t', 't') }), true);
  const ended = sweep('sw-1', { state: 'completed', counts: { completed: 6, pruned: 4 } });
  assert.deepEqual(sweepMessage({ id: 'sw-1', from: 'running', to: 'completed', sweep: ended }), {
    type: 'success',
    message: 'Lepton Lab: sweep "sweep sw-1" completed: 6 trials completed, best val_accuracy 0.973 (#4)'
  });
  assert.equal(sweepMessage({ id: 'sw-1', from: 'running', to: 'cancelled', sweep: ended }), null);
  assert.equal(sweepMessage({ id: 'sw-1', from: null, to: 'completed', sweep: ended }), null);
});
