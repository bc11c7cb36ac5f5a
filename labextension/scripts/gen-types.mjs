/**
 * Generate labextension/src/types.ts from the pydantic models (`jlpm gen:types`), or check that
 * the committed file is current (`jlpm check:types`, part of `make lint`).
 *
 * Python prints the JSON Schema bundle (`python -m lepton_lab.server.ts_schema`); this script
 * compiles it with json-schema-to-typescript and appends the constants Python derived from the
 * same models. Works offline: everything it needs is in .venv and node_modules.
 *
 * Options (for tests): `--schema FILE` reads the bundle from FILE instead of asking Python;
 * `--out FILE` writes (or checks) FILE instead of labextension/src/types.ts.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { compile } from 'json-schema-to-typescript';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
function option(name) {
  const at = process.argv.indexOf(name);
  return at >= 0 ? process.argv[at + 1] : undefined;
}

const TARGET = resolve(option('--out') ?? join(ROOT, 'labextension', 'src', 'types.ts'));
const SCHEMA = option('--schema');
const HEADER = `/**
 * GENERATED FILE: do not edit. The payload types of the Lepton Lab API, generated from the
 * pydantic models (lepton_lab/core/specs.py, event_schema.py, job_status.py,
 * lepton_lab/server/job_schema.py) through openapi.json's component schemas.
 *
 * Regenerate after changing a model: \`jlpm gen:types\` (\`make lint\` fails while it is stale).
 * Hand-written types that are not schema live in payloads.ts.
 */
/* eslint-disable */
`;

function python() {
  const venv = join(ROOT, '.venv', 'bin', 'python');
  return process.env.LEPTON_PYTHON ?? (existsSync(venv) ? venv : 'python3');
}

function literal(name, value) {
  if (!Array.isArray(value)) {
    return `${name} = ${JSON.stringify(value)}`;
  }
  const items = `[${value.map(item => `'${item}'`).join(', ')}]`;
  // Subsets of the statuses are typed as such, so `.includes(job.status)` type-checks.
  return name.endsWith('_STATUSES') && name !== 'JOB_STATUSES'
    ? `${name}: readonly JobStatus[] = ${items}`
    : `${name} = ${items} as const`;
}

async function generate() {
  const bundle = JSON.parse(
    SCHEMA
      ? readFileSync(SCHEMA, 'utf-8')
      : execFileSync(python(), ['-m', 'lepton_lab.server.ts_schema'], { cwd: ROOT, encoding: 'utf-8' })
  );
  const constants = bundle['x-constants'];
  delete bundle['x-constants'];
  const types = await compile(bundle, 'IApiSchemas', {
    bannerComment: '',
    additionalProperties: false,
    unreachableDefinitions: true,
    ignoreMinAndMaxItems: true,
    style: { singleQuote: true, printWidth: 120 }
  });
  const lines = Object.entries(constants).map(([name, value]) => `export const ${literal(name, value)};`);
  lines.push(
    'export type JobStatus = (typeof JOB_STATUSES)[number];',
    'export type JobOrigin = (typeof ORIGINS)[number];',
    'export type EventType = (typeof EVENT_TYPES)[number];',
    'export type PresetName = (typeof PRESET_NAMES)[number];',
    'export type Optimizer = (typeof OPTIMIZERS)[number];',
    'export type LrSchedule = (typeof LR_SCHEDULES)[number];'
  );
  return `${HEADER}\n${types.trim()}\n\n// Constants derived from the same models.\n${lines.join('\n')}\n`;
}

const text = await generate();
if (process.argv.includes('--check')) {
  const current = existsSync(TARGET) ? readFileSync(TARGET, 'utf-8') : '';
  if (current !== text) {
    console.error(
      'labextension/src/types.ts is not current with the pydantic models it is generated from.\n' +
        'Run `jlpm gen:types` (or `.venv/bin/jlpm gen:types`) and commit the result.'
    );
    process.exit(1);
  }
  console.log('labextension/src/types.ts is current.');
} else {
  writeFileSync(TARGET, text);
  console.log('wrote labextension/src/types.ts');
}
