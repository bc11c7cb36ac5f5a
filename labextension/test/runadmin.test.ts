import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { LeptonModel } from '../src/model';
import { FakeServer, SocketLog } from './fakes';

const JOB = { id: 'a b', name: 'digits', status: 'completed', created: 't' };

test('annotate PATCHes name, note and archived; deleteRun DELETEs the run route', async () => {
  const server = new FakeServer({
    'PATCH jobs/a%20b': [200, { ...JOB, name: 'renamed', note: 'n', archived: true }],
    'DELETE jobs/a%20b/run': [204, '']
  });
  const client = server.client('http://h/');
  const job = await client.annotate('a b', { name: 'renamed', note: 'n', archived: true });
  assert.deepEqual([job.name, job.note, job.archived], ['renamed', 'n', true]);
  assert.equal(await client.deleteRun('a b'), undefined);
  assert.deepEqual(
    server.requests.map(r => [r.method, r.url, r.body]),
    [
      ['PATCH', 'http://h/lepton-lab/api/jobs/a%20b', { name: 'renamed', note: 'n', archived: true }],
      ['DELETE', 'http://h/lepton-lab/api/jobs/a%20b/run', undefined]
    ]
  );
});

test('the model shows a rename at once and drops a deleted run and its feed', async () => {
  const server = new FakeServer({
    'PATCH jobs/a%20b': [200, { ...JOB, name: 'renamed' }],
    'DELETE jobs/a%20b/run': [204, '']
  });
  const sockets = new SocketLog();
  const model = new LeptonModel({ client: server.client(), connect: sockets.connect });
  model.state.upsert({ run_dir: 'r', ...JOB, status: 'completed' });
  model.feed('a b');
  let changes = 0;
  model.changed.connect(() => (changes += 1));

  await model.annotate('a b', { name: 'renamed' });
  assert.equal(model.state.get('a b')?.name, 'renamed');
  await model.deleteRun('a b');
  assert.equal(model.state.get('a b'), undefined);
  assert.equal(model.existingFeed('a b'), undefined);
  assert.equal(changes, 2);
});

test('a refused delete (409) keeps the run listed and says why', async () => {
  const server = new FakeServer({
    'DELETE jobs/a%20b/run': [409, { message: 'job a b is running; cancel it first', reason: 'JobStateError' }]
  });
  const model = new LeptonModel({ client: server.client(), connect: new SocketLog().connect });
  model.state.upsert({ run_dir: 'r', ...JOB, status: 'running' });
  await assert.rejects(model.deleteRun('a b'), /cancel it first/);
  assert.ok(model.state.get('a b'));
});
