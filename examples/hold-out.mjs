#!/usr/bin/env node
// Splits a data file into a training part and a held-out test part that training never reads.
//   node examples/hold-out.mjs alpaca_data.json [--test 0.1] [--seed 42]
// writes alpaca_data-train.json and alpaca_data-test.json next to it (JSONL stays JSONL).
// The rows are picked by the seed, so the same command always gives the same split; each part
// keeps the file's order.
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { test: { type: 'string', default: '0.1' }, seed: { type: 'string', default: '42' } },
});
const [file] = positionals;
const fraction = Number(values.test);
const seed = Number(values.seed);
if (!file || positionals.length > 1 || !(fraction > 0 && fraction < 1) || !Number.isInteger(seed)) {
  console.error('usage: node hold-out.mjs FILE.json|FILE.jsonl [--test FRACTION in (0, 1)] [--seed INTEGER]');
  process.exit(2);
}

const ext = path.extname(file).toLowerCase();
const text = fs.readFileSync(file, 'utf8').replace(/^\uFEFF/, '');
const jsonl = ext === '.jsonl';
const rows = jsonl ? text.split(/\r?\n/).filter((line) => line.trim() !== '') : JSON.parse(text);
if (!Array.isArray(rows)) {
  console.error(`${file}: expected a JSON array of rows (or a .jsonl file, one row per line)`);
  process.exit(1);
}

// mulberry32: a small seeded generator, so the split does not depend on Math.random.
let state = seed >>> 0;
const random = () => {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const order = rows.map((_, i) => i);
for (let i = order.length - 1; i > 0; i--) {
  const j = Math.floor(random() * (i + 1));
  [order[i], order[j]] = [order[j], order[i]];
}
const held = Math.ceil(fraction * rows.length);
if (held >= rows.length) {
  console.error(`${file}: a test fraction of ${fraction} leaves no training rows out of ${rows.length}`);
  process.exit(1);
}
const isTest = new Set(order.slice(0, held));
const parts = { train: rows.filter((_, i) => !isTest.has(i)), test: rows.filter((_, i) => isTest.has(i)) };

const base = path.join(path.dirname(file), path.basename(file, path.extname(file)));
for (const [name, part] of Object.entries(parts)) {
  const out = `${base}-${name}${path.extname(file)}`;
  fs.writeFileSync(out, jsonl ? `${part.join('\n')}\n` : `${JSON.stringify(part, null, 2)}\n`);
  console.log(`${out}: ${part.length} rows`);
}
