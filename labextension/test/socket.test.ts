import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { ReconnectingSocket, backoffDelay } from '../src/socket';
import { ManualTimers, SocketLog } from './fakes';

function setup(shouldReconnect?: (code: number, reason: string) => boolean) {
  const timers = new ManualTimers();
  const log = new SocketLog();
  const messages: unknown[] = [];
  const states: string[] = [];
  let offset = 0;
  const socket = new ReconnectingSocket({
    url: () => `ws://h/stream?after=${offset}`,
    connect: log.connect,
    onMessage: message => messages.push(message),
    onState: state => states.push(state),
    shouldReconnect,
    initialDelay: 500,
    maxDelay: 4000,
    setTimeout: timers.setTimeout,
    clearTimeout: timers.clearTimeout
  });
  return { timers, log, messages, states, socket, setOffset: (n: number) => (offset = n) };
}

test('backoff doubles from the initial delay up to the cap', () => {
  assert.deepEqual([0, 1, 2, 3, 4, 5].map(n => backoffDelay(n, 500, 4000)), [500, 1000, 2000, 4000, 4000, 4000]);
});

test('messages are parsed as JSON and handed over', () => {
  const { log, messages, socket } = setup();
  socket.start();
  log.last().open();
  log.last().send({ type: 'snapshot', jobs: [] });
  log.last().onmessage?.({ data: 'not json' });
  assert.deepEqual(messages, [{ type: 'snapshot', jobs: [] }]);
  assert.equal(socket.state, 'open');
});

test('after the server goes away it reconnects with growing delays and a fresh URL', () => {
  const { timers, log, socket, setOffset } = setup();
  socket.start();
  log.last().open();
  setOffset(120);
  log.last().drop(1006); // server restart
  assert.equal(socket.state, 'waiting');
  assert.deepEqual(timers.delays, [500]);
  assert.equal(log.sockets.length, 1);
  timers.advance(500);
  assert.equal(log.sockets.length, 2);
  assert.equal(log.last().url, 'ws://h/stream?after=120');
  log.last().drop(1006); // still down: refused
  assert.deepEqual(timers.delays, [1000]);
  timers.advance(1000);
  log.last().drop(1006);
  assert.deepEqual(timers.delays, [2000]);
  timers.advance(2000);
  log.last().open();
  log.last().send({ type: 'snapshot', jobs: [] });
  assert.equal(socket.attempts, 0, 'a message resets the backoff');
  log.last().drop(1006);
  assert.deepEqual(timers.delays, [500]);
});

test('a close the caller does not want to retry ends the socket', () => {
  const { timers, log, states, socket } = setup(code => code !== 1000);
  socket.start();
  log.last().open();
  log.last().drop(1000, 'job finished');
  assert.equal(socket.state, 'closed');
  assert.deepEqual(timers.delays, []);
  assert.deepEqual(states, ['connecting', 'open', 'closed']);
});

test('dispose closes the socket and cancels a pending reconnect', () => {
  const { timers, log, socket } = setup();
  socket.start();
  log.last().drop(1006);
  assert.equal(timers.delays.length, 1);
  socket.dispose();
  assert.deepEqual(timers.delays, []);
  timers.advance(10_000);
  assert.equal(log.sockets.length, 1);
  socket.start();
  assert.equal(log.sockets.length, 1, 'a disposed socket never reopens');
});

test('a socket that fails to construct is retried like a dropped one', () => {
  const timers = new ManualTimers();
  let calls = 0;
  const log = new SocketLog();
  const socket = new ReconnectingSocket({
    url: () => 'ws://h/stream',
    connect: url => {
      calls += 1;
      if (calls === 1) {
        throw new Error('bad URL');
      }
      return log.connect(url);
    },
    onMessage: () => undefined,
    setTimeout: timers.setTimeout,
    clearTimeout: timers.clearTimeout
  });
  socket.start();
  assert.equal(socket.state, 'waiting');
  timers.advance(500);
  assert.equal(log.sockets.length, 1);
});
