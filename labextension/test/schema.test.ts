/**
 * The TypeScript mirror of the payloads against the server's own OpenAPI document
 * (generated from lepton_lab/core/specs.py): a renamed or added field fails here.
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'node:test';

import { JOB_FIELDS, JOB_STATUSES, SPEC_ENUMS, SPEC_FIELDS } from '../src/types';

const ROOT = resolve(__dirname, '..', '..', '..');

interface ISchema {
  properties?: Record<string, { enum?: string[]; anyOf?: { enum?: string[] }[] }>;
}

function openapi(): { components: { schemas: Record<string, ISchema> } } | null {
  const venv = join(ROOT, '.venv', 'bin', 'python');
  const python = process.env.LEPTON_PYTHON ?? (existsSync(venv) ? venv : 'python3');
  const code = 'import json; from lepton_lab.server.openapi import openapi_document; print(json.dumps(openapi_document()))';
  try {
    return JSON.parse(execFileSync(python, ['-c', code], { cwd: ROOT, encoding: 'utf-8' }));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      return null; // no Python at all: nothing to compare with
    }
    throw error;
  }
}

const document = openapi();

test('every spec model has the same fields in TypeScript as in the JSON Schema', t => {
  if (!document) {
    t.skip('no Python interpreter found (set LEPTON_PYTHON)');
    return;
  }
  const schemas = document.components.schemas;
  for (const [name, fields] of Object.entries(SPEC_FIELDS)) {
    assert.ok(schemas[name], `schema ${name} is missing from openapi.json`);
    assert.deepEqual(
      Object.keys(schemas[name].properties ?? {}).sort(),
      [...fields].sort(),
      `fields of ${name}`
    );
  }
});

test('literal choices match the JSON Schema enums', t => {
  if (!document) {
    t.skip('no Python interpreter found (set LEPTON_PYTHON)');
    return;
  }
  const schemas = document.components.schemas;
  for (const [path, values] of Object.entries(SPEC_ENUMS)) {
    const [model, field] = path.split('.');
    const property = schemas[model].properties?.[field];
    const found = property?.enum ?? property?.anyOf?.find(option => option.enum)?.enum;
    assert.deepEqual(found, [...values], path);
  }
});

test('the Job type has every field of the Job schema and its statuses', t => {
  if (!document) {
    t.skip('no Python interpreter found (set LEPTON_PYTHON)');
    return;
  }
  const job = document.components.schemas.Job;
  assert.deepEqual(Object.keys(job.properties ?? {}).sort(), [...JOB_FIELDS].sort());
  assert.deepEqual(job.properties?.status.enum, [...JOB_STATUSES]);
});
