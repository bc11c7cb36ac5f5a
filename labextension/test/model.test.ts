import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { IJobTransition } from '../src/jobs';
import { LeptonModel } from '../src/model';
import { IJob } from '../src/payloads';
import { FakeServer, ManualTimers, SocketLog, batch } from './fakes';

const running: IJob = { run_dir: 'r', id: 'r1', name: 'digits', status: 'running', created: '2', epochs: 2 };
const done: IJob = { run_dir: 'r', id: 'c1', name: 'old', status: 'completed', created: '1', epochs: 2 };

function setup(jobs: IJob[] = []) {
  const server = new FakeServer({ 'GET jobs': [200, { jobs }] });
  const sockets = new SocketLog();
  const timers = new ManualTimers();
  const model = new LeptonModel({
    client: server.client('http://h/x/', 'tok'),
    connect: sockets.connect,
    socketOptions: { setTimeout: timers.setTimeout, clearTimeout: timers.clearTimeout }
  });
  const transitions: IJobTransition[] = [];
  model.transitions.connect((_, t) => transitions.push(t));
  return { server, sockets, timers, model, transitions };
}

test('start opens the all-jobs stream with the token and follows running jobs from the snapshot', () => {
  const { sockets, model } = setup();
  model.start();
  const stream = sockets.last('/stream?token');
  assert.equal(stream.url, 'ws://h/x/lepton-lab/api/stream?token=tok');
  stream.open();
  stream.send({ type: 'snapshot', jobs: [running, done] });
  assert.deepEqual(
    model.state.list().map(j => j.id),
    ['r1', 'c1']
  );
  const feedSocket = sockets.last('jobs/r1/stream');
  assert.equal(feedSocket.url, 'ws://h/x/lepton-lab/api/jobs/r1/stream?after=0&token=tok');
  assert.equal(sockets.matching('jobs/c1/stream').length, 0, 'finished jobs are not streamed unasked');
});

test('events on a job stream update its metrics and a dropped stream resumes from the offset', () => {
  const { sockets, timers, model } = setup();
  model.start();
  sockets.last('/stream?token').send({ type: 'snapshot', jobs: [running] });
  const feed = model.feed('r1');
  let changes = 0;
  feed.changed.connect(() => (changes += 1));
  const first = sockets.last('jobs/r1/stream');
  first.open();
  first.send({ type: 'events', events: [batch(1, 10, 0.9), batch(2, 10.1, 0.8)], next: 3 });
  assert.equal(feed.metrics.step, 2);
  assert.equal(changes, 1);
  first.drop(1006); // the server restarted
  timers.advance(500);
  const second = sockets.last('jobs/r1/stream');
  assert.notEqual(second, first);
  assert.match(second.url, /after=3&/);
});

test('a normal close ends the feed without reconnecting', () => {
  const { sockets, timers, model } = setup();
  model.start();
  sockets.last('/stream?token').send({ type: 'snapshot', jobs: [running] });
  const socket = sockets.last('jobs/r1/stream');
  socket.send({ type: 'events', events: [{ t: 1, type: 'status', status: 'completed' }], next: 1 });
  socket.drop(1000, 'job finished');
  timers.advance(60_000);
  assert.equal(sockets.matching('jobs/r1/stream').length, 1);
  assert.equal(model.feed('r1').ended, true);
});

test('status changes of known jobs are reported; jobs first seen are not', () => {
  const { sockets, model, transitions } = setup();
  model.start();
  const stream = sockets.last('/stream?token');
  stream.send({ type: 'snapshot', jobs: [running, done] });
  assert.equal(transitions.length, 0);
  stream.send({ type: 'status', job: { ...running, status: 'completed' } });
  stream.send({ type: 'status', job: { id: 'n1', name: 'new', status: 'queued', created: '3' } });
  stream.send({ type: 'status', job: { id: 'n1', name: 'new', status: 'running', created: '3' } });
  assert.deepEqual(
    transitions.map(t => `${t.id}:${t.from}->${t.to}`),
    ['r1:running->completed', 'n1:queued->running']
  );
  assert.equal(sockets.matching('jobs/n1/stream').length, 1, 'a job that starts running is followed');
});

test('a resumed job is streamed again from where its feed ended', () => {
  const { sockets, model } = setup();
  model.start();
  const stream = sockets.last('/stream?token');
  stream.send({ type: 'snapshot', jobs: [running] });
  const socket = sockets.last('jobs/r1/stream');
  socket.send({ type: 'events', events: [batch(1, 1, 0.5)], next: 7 });
  socket.drop(1000, 'job finished');
  stream.send({ type: 'status', job: { ...running, status: 'interrupted' } });
  stream.send({ type: 'status', job: { ...running, status: 'queued' } });
  stream.send({ type: 'status', job: { ...running, status: 'running' } });
  const again = sockets.last('jobs/r1/stream');
  assert.notEqual(again, socket);
  assert.match(again.url, /after=7&/);
});

test('a viewer of a finished job holds its socket; releasing it closes an unfinished replay', () => {
  const { sockets, model } = setup();
  model.start();
  sockets.last('/stream?token').send({ type: 'snapshot', jobs: [done] });
  const release = model.feed('c1').acquire();
  const socket = sockets.last('jobs/c1/stream');
  assert.equal(socket.closedWith, null);
  release();
  assert.notEqual(socket.closedWith, null);
  release(); // twice is harmless
  assert.equal(model.feed('c1').refs, 0);
});

test('idle feeds of finished jobs are evicted beyond the cache size', () => {
  const server = new FakeServer({ 'GET jobs': [200, { jobs: [] }] });
  const sockets = new SocketLog();
  const model = new LeptonModel({ client: server.client(), connect: sockets.connect, cacheSize: 2 });
  for (const id of ['a', 'b', 'c', 'd']) {
    model.feed(id).acquire()();
  }
  assert.equal(model.existingFeed('a'), undefined);
  assert.equal(model.existingFeed('b'), undefined);
  assert.ok(model.existingFeed('c'));
  assert.ok(model.existingFeed('d'));
});

test('cancel updates the list from the answer and REST errors are reported', async () => {
  const server = new FakeServer({
    'GET jobs': [500, { message: 'database locked' }],
    'DELETE jobs/r1': [200, { ...running, status: 'cancelled' }]
  });
  const sockets = new SocketLog();
  const model = new LeptonModel({ client: server.client(), connect: sockets.connect });
  const errors: Error[] = [];
  model.errors.connect((_, error) => errors.push(error));
  await model.refresh();
  assert.match(errors[0].message, /database locked/);
  model.state.upsert(running);
  const transitions: string[] = [];
  model.transitions.connect((_, t) => transitions.push(t.to));
  await model.cancel('r1');
  assert.equal(model.state.get('r1')?.status, 'cancelled');
  assert.deepEqual(transitions, ['cancelled']);
});

test('after a server restart a running job whose stream was closed normally is followed again', () => {
  const { sockets, timers, model } = setup();
  model.start();
  const stream = sockets.last('/stream?token');
  stream.send({ type: 'snapshot', jobs: [running] });
  const socket = sockets.last('jobs/r1/stream');
  socket.send({ type: 'events', events: [batch(1, 1, 0.5)], next: 4 });
  // A stopping server closes every stream normally, as if the job had finished.
  socket.drop(1000, 'job finished');
  stream.drop(1006);
  timers.advance(500);
  const again = sockets.last('/stream?token');
  assert.notEqual(again, stream);
  again.send({ type: 'snapshot', jobs: [running] }); // re-attached: still running
  const resumed = sockets.last('jobs/r1/stream');
  assert.notEqual(resumed, socket);
  assert.match(resumed.url, /after=4&/);
});

test('progress messages do not reopen a stream that ended', () => {
  const { sockets, model } = setup();
  model.start();
  const stream = sockets.last('/stream?token');
  stream.send({ type: 'snapshot', jobs: [running] });
  sockets.last('jobs/r1/stream').drop(1000, 'job finished');
  stream.send({ type: 'progress', id: 'r1', step: 5 });
  assert.equal(sockets.matching('jobs/r1/stream').length, 1);
});

test('reconnect skips the backoff wait of a dropped stream', () => {
  const { sockets, timers, model } = setup();
  model.start();
  sockets.last('/stream?token').drop(1006);
  assert.equal(model.connectionState, 'waiting');
  model.reconnect();
  assert.equal(sockets.matching('/stream?token').length, 2);
  assert.deepEqual(timers.delays, [], 'the pending retry was cancelled');
  model.reconnect(); // connecting, not waiting: no third socket
  sockets.last('/stream?token').open();
  model.reconnect();
  assert.equal(sockets.matching('/stream?token').length, 2);
});

test('a listener that throws does not keep the others from hearing, and dispose disconnects them all', () => {
  const { sockets, model } = setup();
  model.start();
  sockets.last('/stream?token').send({ type: 'snapshot', jobs: [running] });
  let changes = 0;
  model.changed.connect(() => {
    throw new Error('a broken view');
  });
  model.changed.connect(() => (changes += 1));
  const logged = console.error;
  console.error = () => undefined; // Lumino reports the broken view's error there
  try {
    model._onStreamMessage({ type: 'status', job: { ...running, status: 'completed' } });
  } finally {
    console.error = logged;
  }
  assert.equal(changes, 1);
  model.dispose();
  model._onStreamMessage({ type: 'status', job: { ...running, status: 'failed' } });
  assert.equal(model.state.get('r1')?.status, 'failed', 'the change happened');
  assert.equal(changes, 1, 'but no listener hears a disposed model');
});
