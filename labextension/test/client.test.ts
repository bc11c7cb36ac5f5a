import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { ApiError } from '../src/client';
import { FakeServer } from './fakes';

const JOB = { id: 'j1', name: 'digits', status: 'queued' };

test('submit POSTs the spec as JSON to jobs under the base URL and returns the created job', async () => {
  const server = new FakeServer({ 'POST jobs': [201, JOB] });
  const spec = { dataset: { name: 'digits', subset: 300 }, model: { preset: 'mlp' }, train: { epochs: 2 } };
  const job = await server.client('http://h:1/x/').submit(spec);
  assert.deepEqual(job, JOB);
  assert.deepEqual(server.requests, [{ url: 'http://h:1/x/lepton-lab/api/jobs', method: 'POST', body: spec }]);
});

test('jobs unwraps the list and sends the status filter comma-separated', async () => {
  const server = new FakeServer({ 'GET jobs': [200, { jobs: [JOB] }] });
  const client = server.client('http://h/');
  assert.deepEqual(await client.jobs(), [JOB]);
  await client.jobs(['running', 'queued']);
  assert.equal(server.requests[0].url, 'http://h/lepton-lab/api/jobs');
  assert.equal(server.requests[1].url, 'http://h/lepton-lab/api/jobs?status=running%2Cqueued');
});

test('cancel DELETEs the job and resume POSTs to its resume route', async () => {
  const server = new FakeServer({
    'DELETE jobs/a%20b': [202, { ...JOB, status: 'running', cancel_requested: true }],
    'POST jobs/a%20b/resume': [202, JOB]
  });
  const client = server.client('http://h/');
  assert.equal((await client.cancel('a b')).cancel_requested, true);
  await client.resume('a b');
  assert.deepEqual(
    server.requests.map(r => `${r.method} ${r.url}`),
    ['DELETE http://h/lepton-lab/api/jobs/a%20b', 'POST http://h/lepton-lab/api/jobs/a%20b/resume']
  );
});

test('a failed call raises ApiError with the status and the server message', async () => {
  const server = new FakeServer({
    'POST jobs': [400, { message: 'dataset.name: unknown dataset', reason: 'SpecError' }]
  });
  await assert.rejects(server.client().submit({ dataset: { name: 'nope' } }), (error: unknown) => {
    assert.ok(error instanceof ApiError);
    assert.equal(error.status, 400);
    assert.equal(error.message, 'dataset.name: unknown dataset');
    assert.equal(error.reason, 'SpecError');
    return true;
  });
});

test('a failed call with a non-JSON body keeps that text as the message', async () => {
  const server = new FakeServer({ 'GET status': [502, 'Bad Gateway from proxy'] });
  await assert.rejects(server.client().status(), /Bad Gateway from proxy/);
});

test('events pass the offset and return the page with its next offset', async () => {
  const page = { events: [{ t: 1, type: 'batch', step: 1, epoch: 1, metrics: { loss: 1 } }], next: 8 };
  const server = new FakeServer({ 'GET jobs/j1/events': [200, page] });
  assert.deepEqual(await server.client('http://h/').events('j1', 7), page);
  assert.equal(server.requests[0].url, 'http://h/lepton-lab/api/jobs/j1/events?after=7');
});

test('devices unwraps the devices list of the answer', async () => {
  const cpu = { id: 'cpu', kind: 'cpu', name: 'x86_64', jobs: [] };
  const server = new FakeServer({ 'GET devices': [200, { devices: [cpu], gpu_policy: 'exclusive' }] });
  assert.deepEqual(await server.client().devices(), [cpu]);
});

test('artifact URLs keep sub-folders and encode each part', () => {
  const client = new FakeServer().client('http://h/x/');
  assert.equal(client.artifactUrl('j1', 'worker.log'), 'http://h/x/lepton-lab/api/jobs/j1/artifacts/worker.log');
  assert.equal(
    client.artifactUrl('j1', 'tensorboard/train/a b'),
    'http://h/x/lepton-lab/api/jobs/j1/artifacts/tensorboard/train/a%20b'
  );
});

test('artifactText returns the raw text and raises on 404', async () => {
  const server = new FakeServer({
    'GET jobs/j1/artifacts/worker.log': [200, 'line 1\nline 2\n'],
    'GET jobs/j1/artifacts/report.html': [404, { message: 'job j1 has no artifact report.html' }]
  });
  const client = server.client();
  assert.equal(await client.artifactText('j1', 'worker.log'), 'line 1\nline 2\n');
  await assert.rejects(client.artifactText('j1', 'report.html'), /has no artifact report.html/);
});

test('stream URLs use the WebSocket base, the base URL, the offset and the token', () => {
  const client = new FakeServer().client('https://h/x/', 'tok en');
  assert.equal(client.streamUrl(), 'wss://h/x/lepton-lab/api/stream?token=tok%20en');
  assert.equal(client.streamUrl('j1', 42), 'wss://h/x/lepton-lab/api/jobs/j1/stream?after=42&token=tok%20en');
  const cookieOnly = new FakeServer().client('http://h/', '');
  assert.equal(cookieOnly.streamUrl('j1'), 'ws://h/lepton-lab/api/jobs/j1/stream?after=0');
});
