import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { LeptonModel } from '../src/model';
import { deployModel, exportRun, listExports, modelMetrics } from '../src/modelclient';
import { IExport, IModel, IModelMetrics } from '../src/modelpayloads';
import {
  ModelsState,
  QUANTIZE_CHOICES,
  batchBuckets,
  classShares,
  driftFlag,
  driftLabel,
  exportDirName,
  exportFigures,
  exportWarning,
  formatLatency,
  formatPoints,
  historyCurves,
  summaryLabel,
  undeployQuestion,
  versionLabel
} from '../src/models';
import { FakeServer, ManualTimers, SocketLog } from './fakes';

const model = (name: string, extra: Partial<IModel> = {}): IModel => ({
  name,
  version: 1,
  versions: [1],
  run_id: `run-${name}`,
  state: 'ready',
  input: { shape: [null, 8, 8, 1], dtype: 'uint8' },
  classes: ['0', '1', '2'],
  created: 1_764_550_000,
  pid: 123,
  error: null,
  restarts: 0,
  summary: {
    requests: 10,
    errors: 0,
    request_rate: 0.5,
    latency_ms_p50: 1.2,
    latency_ms_p95: 3.1,
    latency_ms_p99: 4,
    drift: 0.02,
    drifting: false
  },
  ...extra
});

const exported = (extra: Partial<IExport> = {}): IExport => ({
  format: 'tflite',
  quantize: 'int8',
  path: 'exports/tflite-int8/model.tflite',
  created: 1_764_550_000,
  run_id: 'r1',
  input: { shape: [null, 8, 8, 1], dtype: 'uint8' },
  classes: ['0', '1'],
  size_bytes: 12_345,
  keras: { test_accuracy: 0.97 },
  test_accuracy: 0.965,
  accuracy_change: -0.005,
  agreement: 0.992,
  examples: 360,
  latency_ms: { batch_1: 0.21, batch_32: 1.9 },
  tolerance: 0.03,
  within_tolerance: true,
  warning: null,
  ...extra
});

test('models come from snapshots and model messages, by name, and leave when undeployed', () => {
  const state = new ModelsState();
  let changes = 0;
  state.changed.connect(() => (changes += 1));
  assert.equal(state.initialized, false);
  assert.equal(state.apply({ type: 'snapshot', jobs: [] } as never), false); // a server before deployment
  assert.equal(state.initialized, false);
  assert.equal(state.apply({ type: 'snapshot', models: [model('mnist'), model('digits')] }), true);
  assert.equal(state.initialized, true);
  assert.deepEqual(
    state.list().map(m => m.name),
    ['digits', 'mnist']
  );
  state.apply({ type: 'model', model: model('digits', { state: 'restarting', restarts: 1 }) });
  assert.equal(state.get('digits')?.state, 'restarting');
  assert.equal(state.apply({ type: 'status' }), false);
  state.remove('digits');
  assert.deepEqual(
    state.list().map(m => m.name),
    ['mnist']
  );
  assert.equal(changes, 3);
});

test('the row says rate, p95, requests and errors, and raises the drift flag only when drifting', () => {
  assert.equal(summaryLabel(model('d').summary), '0.50 req/s · p95 3.10 ms · 10 requests');
  assert.equal(
    summaryLabel({ ...model('d').summary!, requests: 1, errors: 2, request_rate: 120, latency_ms_p95: 150.4 }),
    '120 req/s · p95 150 ms · 1 request · 2 errors'
  );
  assert.equal(summaryLabel(null), 'no requests yet');
  assert.deepEqual(driftFlag(0.02, false), { text: 'drift 0.02', drifting: false });
  assert.equal(driftFlag(0.31, true).drifting, true);
  assert.deepEqual(driftFlag(null, false), { text: 'drift –', drifting: null });
  assert.equal(versionLabel({ version: 2, versions: [1, 2] }), 'v2 (of 1, 2)');
  assert.equal(versionLabel({ version: 1, versions: [1] }), 'v1');
  assert.equal(formatLatency(null), '–');
  assert.equal(formatLatency(0.213), '0.21 ms');
  assert.equal(formatLatency(0.0123), '0.012 ms');
  assert.equal(formatLatency(3.1), '3.10 ms');
});

test('the undeploy question names the model and says the run and its exports stay', () => {
  const { title, body } = undeployQuestion(model('digits'));
  assert.equal(title, 'Undeploy model "digits"?');
  assert.match(body, /404/);
  assert.match(body, /run run-digits and its exports are kept/);
});

test('history becomes requests per second and latency quantiles over minutes before the latest point', () => {
  const curves = historyCurves([
    { t: 1010, requests: 0, errors: 0, latency_ms_p95: null },
    { t: 1000, requests: 10, errors: 1, latency_ms_p50: 1, latency_ms_p95: 2, latency_ms_p99: 3 },
    { t: 1015, requests: 25, errors: 0, latency_ms_p50: 1.5, latency_ms_p95: 2.5, latency_ms_p99: 9 }
  ]);
  // Sorted by time; x in minutes with the latest at 0; each interval 5 s.
  assert.deepEqual(curves.rate, [
    [-0.25, 2],
    [-5 / 60, 0],
    [0, 5]
  ]);
  assert.deepEqual(curves.errors[0], [-0.25, 0.2]);
  // An interval without requests has no latency point.
  assert.deepEqual(curves.p95, [
    [-0.25, 2],
    [0, 2.5]
  ]);
  assert.deepEqual(
    curves.p99.map(p => p[1]),
    [3, 9]
  );
  assert.deepEqual(historyCurves([]).rate, []);
});

test('class shares pair recent predictions with the training split in the model’s class order', () => {
  const metrics: Pick<IModelMetrics, 'predicted' | 'training'> = {
    predicted: { '1': 3, '0': 1 },
    training: { '0': 0.5, '1': 0.25, '2': 0.25 }
  };
  assert.deepEqual(classShares(metrics, ['0', '1', '2']), [
    { name: '0', count: 1, predicted: 0.25, training: 0.5 },
    { name: '1', count: 3, predicted: 0.75, training: 0.25 },
    { name: '2', count: 0, predicted: 0, training: 0.25 }
  ]);
  // Without the class list: the metrics' own keys; without predictions: zero shares.
  assert.deepEqual(
    classShares({ predicted: {}, training: { b: 1 } }).map(s => [s.name, s.predicted]),
    [['b', 0]]
  );
});

test('the drift text says when too few predictions are in to raise the flag', () => {
  const drift = { score: 0.321, method: 'jensen_shannon', threshold: 0.1, drifting: false, window: 500 };
  assert.equal(
    driftLabel({ ...drift, predictions: 72, min_predictions: 100 }),
    'score 0.321 (Jensen-Shannon distance) over the last 500 predictions, threshold 0.1; flagged only from 100 predictions (72 so far)'
  );
  assert.equal(
    driftLabel({ ...drift, predictions: 400, min_predictions: 100 }),
    'score 0.321 (Jensen-Shannon distance) over the last 500 predictions, threshold 0.1'
  );
});

test('batch-size buckets are listed in size order', () => {
  assert.deepEqual(batchBuckets({ '33-64': 1, '2-4': 30, '1': 10, '5-8': 2 }), [
    ['1', 10],
    ['2-4', 30],
    ['5-8', 2],
    ['33-64', 1]
  ]);
});

test('each format offers its quantizations and names its export directory', () => {
  assert.deepEqual(QUANTIZE_CHOICES.savedmodel, ['none']);
  assert.deepEqual(QUANTIZE_CHOICES.tflite, ['none', 'float16', 'dynamic', 'int8']);
  assert.equal(exportDirName('tflite', 'int8'), 'tflite-int8');
  assert.equal(exportDirName('savedmodel', 'none'), 'savedmodel');
});

test('an export shows its figures; one outside its tolerance warns loudly', () => {
  const figures = new Map(exportFigures(exported()));
  assert.equal(figures.get('size'), '12.1 KiB');
  assert.equal(figures.get('test accuracy'), '0.9650 (Keras 0.9700)');
  assert.equal(figures.get('accuracy change'), '−0.50 points (tolerance ±3.00 points)');
  assert.equal(figures.get('agreement'), '99.2% of 360 test examples');
  assert.equal(figures.get('latency / example'), '0.21 ms at batch 1 · 1.90 ms at batch 32');
  assert.equal(exportWarning(exported()), null);
  const bad = exported({ accuracy_change: -0.08, within_tolerance: false, warning: null });
  assert.equal(
    exportWarning(bad),
    'Accuracy changed by −8.00 points: beyond the 3.00 points tolerance of tflite · int8.'
  );
  assert.equal(exportWarning({ ...bad, warning: 'int8 lost 8 points' }), 'int8 lost 8 points');
  assert.equal(formatPoints(0.002), '+0.20 points');
  assert.equal(formatPoints(0), '0.00 points');
});

test('the deployment calls reach their routes with their bodies', async () => {
  const server = new FakeServer({
    'POST models': [201, model('digits')],
    'GET models/digits/metrics': [200, { name: 'digits', requests: 3 }],
    'GET jobs/r%201/exports': [200, { exports: [exported()] }],
    'POST jobs/r%201/exports': [201, exported()]
  });
  const client = server.client();
  assert.equal((await deployModel(client, { run: 'r 1' })).name, 'digits');
  assert.equal((await modelMetrics(client, 'digits')).requests, 3);
  assert.equal((await listExports(client, 'r 1')).length, 1);
  assert.equal((await exportRun(client, 'r 1', 'tflite', 'int8')).quantize, 'int8');
  assert.deepEqual(
    server.requests.map(r => [r.method, new URL(r.url).pathname.replace(/^.*\/api\//, ''), r.body]),
    [
      ['POST', 'models', { run: 'r 1' }],
      ['GET', 'models/digits/metrics', undefined],
      ['GET', 'jobs/r%201/exports', undefined],
      ['POST', 'jobs/r%201/exports', { format: 'tflite', quantize: 'int8' }]
    ]
  );
});

test('the model keeps the models from GET models and the stream, and undeploys', async () => {
  const server = new FakeServer({
    'GET jobs': [200, { jobs: [] }],
    'GET sweeps': [200, { sweeps: [] }],
    'GET models': [200, { models: [model('digits')] }],
    'DELETE models/digits': [200, { deleted: 'digits' }]
  });
  const sockets = new SocketLog();
  const timers = new ManualTimers();
  const lepton = new LeptonModel({
    client: server.client('http://h/x/', 'tok'),
    connect: sockets.connect,
    socketOptions: { setTimeout: timers.setTimeout, clearTimeout: timers.clearTimeout }
  });
  let jobChanges = 0;
  lepton.changed.connect(() => (jobChanges += 1));
  lepton.start();
  await new Promise(resolve => setImmediate(resolve));
  assert.equal(lepton.models.get('digits')?.state, 'ready');
  const before = jobChanges;
  const busy = model('digits', { summary: { ...model('digits').summary!, requests: 99 } });
  sockets.last('/stream?token').send({ type: 'model', model: busy });
  assert.equal(lepton.models.get('digits')?.summary?.requests, 99);
  // A model's figures (about once a second) do not re-render the job list.
  assert.equal(jobChanges, before);
  sockets.last('/stream?token').send({ type: 'snapshot', jobs: [], models: [model('other')] });
  assert.deepEqual(
    lepton.models.list().map(m => m.name),
    ['other']
  );
  lepton.models.upsert(model('digits'));
  await lepton.undeploy('digits');
  assert.equal(lepton.models.get('digits'), undefined);
  assert.ok(server.requests.some(r => r.method === 'DELETE' && r.url.endsWith('/models/digits')));
  lepton.dispose();
});

test('a server without deployment (404 on GET models) is not an error and has no Models section', async () => {
  const server = new FakeServer({ 'GET jobs': [200, { jobs: [] }], 'GET sweeps': [200, { sweeps: [] }] });
  const lepton = new LeptonModel({ client: server.client(), connect: new SocketLog().connect });
  const errors: Error[] = [];
  lepton.errors.connect((_, e) => errors.push(e));
  await lepton.refresh();
  assert.deepEqual(errors, []);
  assert.equal(lepton.models.initialized, false);
});
