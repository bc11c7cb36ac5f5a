import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { nodeRows, placementLabel, shortNodeId } from '../src/nodes';
import type { IClusterNode } from '../src/payloads';
import { FakeServer } from './fakes';

const HEAD_ID = 'a1b2c3d4'.repeat(7); // a Ray node id: 56 hex digits
const WORKER_ID = 'e5f6a7b8'.repeat(7);
const LOST_ID = '0badc0de'.repeat(7);

const CLUSTER: IClusterNode[] = [
  {
    id: LOST_ID,
    address: '10.0.0.3',
    alive: false,
    head: false,
    cpus: 2,
    gpus: 0,
    jobs: []
  },
  {
    id: WORKER_ID,
    address: '10.0.0.2',
    alive: true,
    head: false,
    cpus: 4,
    gpus: 1,
    jobs: ['run-2', 'run-3']
  },
  {
    id: HEAD_ID,
    address: '10.0.0.1',
    alive: true,
    head: true,
    cpus: 1.5,
    gpus: 0.5,
    jobs: []
  }
];

test('nodeRows: head first, then alive, then lost; short id, address, resources and job names', () => {
  const rows = nodeRows(CLUSTER, new Map([['run-2', 'digits']]));
  assert.deepEqual(
    rows.map(row => [row.title, row.head, row.state, row.resources]),
    [
      ['a1b2c3d4 · 10.0.0.1', true, 'alive', '1.5 CPUs · 0.5 GPUs'],
      ['e5f6a7b8 · 10.0.0.2', false, 'alive', '4 CPUs · 1 GPU'],
      ['0badc0de · 10.0.0.3', false, 'lost', '2 CPUs · 0 GPUs']
    ]
  );
  // A job the model knows by name shows its name; another its id. Both link to the id.
  assert.deepEqual(rows[1].jobs, [
    { id: 'run-2', label: 'digits' },
    { id: 'run-3', label: 'run-3' }
  ]);
  assert.equal(rows[2].tooltip, `node ${LOST_ID} at 10.0.0.3`);
});

test('nodeRows: a lost node stays listed and marked lost, with the jobs it still reports', () => {
  const rows = nodeRows([{ id: 'n1', alive: false, jobs: ['run-1'] }], new Map());
  assert.equal(rows.length, 1);
  assert.equal(rows[0].state, 'lost');
  assert.deepEqual(rows[0].jobs, [{ id: 'run-1', label: 'run-1' }]);
  // Without address or resources: the id as it is, unknown counts said so.
  assert.equal(rows[0].title, 'n1');
  assert.equal(rows[0].resources, '? CPUs · ? GPUs');
});

test('nodeRows: no nodes, no rows', () => {
  assert.deepEqual(nodeRows([], new Map()), []);
});

test('shortNodeId keeps short ids whole', () => {
  assert.equal(shortNodeId(HEAD_ID), 'a1b2c3d4');
  assert.equal(shortNodeId('node-1'), 'node-1');
});

test('placementLabel: the node when set, every GPU when more than one, nothing on the host', () => {
  assert.equal(placementLabel({ node: HEAD_ID, gpus: [0, 1] }), 'node a1b2c3d4 · GPUs 0, 1');
  assert.equal(placementLabel({ node: 'node-1', gpus: [2] }), 'node node-1');
  assert.equal(placementLabel({ node: null, gpus: [0, 3] }), 'GPUs 0, 3');
  assert.equal(placementLabel({ node: null, gpus: [0] }), '');
  assert.equal(placementLabel({}), '');
});

test('devicesPayload: nodes when the executor is a cluster, none for the local executor', async () => {
  const cpu = { id: 'cpu', kind: 'cpu', name: 'CPU', jobs: [] };
  const cluster = new FakeServer({
    'GET devices': [200, { devices: [cpu], nodes: CLUSTER, gpu_policy: 'auto' }]
  });
  const withNodes = await cluster.client().devicesPayload();
  assert.deepEqual(withNodes.nodes, CLUSTER);
  assert.deepEqual(withNodes.devices, [cpu]);
  const local = new FakeServer({
    'GET devices': [200, { devices: [cpu], gpu_policy: 'auto' }]
  });
  assert.equal((await local.client().devicesPayload()).nodes, undefined);
  // An old server answering a bare list still works.
  const old = new FakeServer({ 'GET devices': [200, [cpu]] });
  assert.deepEqual(await old.client().devicesPayload(), { devices: [cpu] });
});
