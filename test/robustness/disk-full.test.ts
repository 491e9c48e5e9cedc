// 3.5: a full disk while weights are written. Every write completes or throws naming the
// file; final/ and checkpoints appear whole or not at all; the previous checkpoint stays
// usable and a resume on a larger disk ends where an uninterrupted run does.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { SafetensorsFile, writeSafetensors } from '../../core/checkpoint/safetensors';
import { writeHandoffJob } from '../../core/handoff/write-job';
import { openStore } from '../../core/store/index';
import { resolveTrainConfig } from '../../core/train/config';
import { fixture, tempDir } from '../helpers';
import { alpacaJsonl, cli, fullConfig, writeConfig } from './cases';

test('a short write (what fs.writeSync returns on a full disk) fails naming the file, and leaves nothing behind', (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'model.safetensors');
  fs.writeFileSync(file, 'the previous version');
  const [realOpen, realWrite] = [fs.openSync, fs.writeSync];
  // Only writes to files in `dir` are cut short: the test runner reports through writeSync too.
  const ours = new Set<number>();
  t.mock.method(fs, 'openSync', (...args: Parameters<typeof fs.openSync>) => {
    const fd = realOpen(...args);
    if (String(args[0]).startsWith(dir)) ours.add(fd);
    return fd;
  });
  let calls = 0;
  // Half of the first write goes down, then nothing more: as ENOSPC looks from Node.
  t.mock.method(fs, 'writeSync', (fd: number, buf: Uint8Array, offset = 0, length = buf.byteLength - offset) => {
    if (!ours.has(fd)) return realWrite(fd, buf, offset, length);
    return calls++ === 0 ? realWrite(fd, buf, offset, Math.ceil(length / 2)) : 0;
  });
  const tensors = [{ name: 'w', shape: [64, 64], data: new Float32Array(64 * 64).fill(1) }];
  assert.throws(() => writeSafetensors(file, tensors), (err: Error) => err.message.startsWith(`${file}: no space left on device (it needs 0.0 MiB`));
  t.mock.restoreAll();
  assert.equal(fs.readFileSync(file, 'utf8'), 'the previous version');
  assert.deepEqual(fs.readdirSync(dir), ['model.safetensors'], 'no temporary file is left');
  // Unstubbed, it completes and reads back.
  writeSafetensors(file, tensors);
  const back = new SafetensorsFile(file);
  assert.deepEqual([...back.read('w')].slice(0, 3), [1, 1, 1]);
  back.close();
});

function mountTmpfs(dir: string, size: string, remount = false): string | null {
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `${remount ? 'remount,' : ''}size=${size}`, 'tmpfs', dir], { encoding: 'utf8' });
  return r.status === 0 ? null : r.stderr.trim() || `mount exited ${r.status}`;
}

test('3.5 a checkpoint, then final/, on a full disk: named errors, nothing partial, and a resume that ends as an uninterrupted run', { skip: (process.platform !== 'linux' || process.getuid?.() !== 0) && 'needs root on Linux to mount a small tmpfs' }, async (t) => {
  const dir = tempDir(t);
  const small = path.join(dir, 'small');
  fs.mkdirSync(small);
  const refused = mountTmpfs(small, '30m');
  if (refused) return t.skip(`this machine cannot mount a tmpfs: ${refused}`);
  try {
    const store = path.join(dir, 'store.db');
    // Full fine-tuning of gpt2-tiny: checkpoints of about 18.7 MiB, a final model.safetensors of 6.25 MiB.
    const settings = { max_steps: 2, save_steps: 1, per_device_train_batch_size: 2, data: { ...(fullConfig('').data as object), max_length: 32 } };
    const run = path.join(small, 'run');
    const config = writeConfig(dir, 'c.json', fullConfig(run, settings));

    // 30 MiB: checkpoint-1 fits, checkpoint-2 does not.
    const first = await cli('train', '--config', config, '--store', store, '--json-events');
    assert.equal(first.code, 1);
    assert.match(first.stderr, new RegExp(`^tunesmith: ${run}/checkpoint-2/(optimizer|trainable)\\.safetensors: no space left on device \\(it needs \\d+\\.\\d MiB, \\d+\\.\\d MiB is free there\\); free some space and resume\\n$`));
    assert.deepEqual(fs.readdirSync(run).sort(), ['.tunesmith-files.json', 'checkpoint-1']);
    assert.deepEqual(fs.readdirSync(path.join(run, 'checkpoint-1')).sort(), ['optimizer.safetensors', 'trainable.safetensors', 'trainer_state.json']);
    const s = openStore(store);
    assert.equal(s.listRuns()[0].status, 'failed');
    s.close();

    // 42 MiB: the resume writes checkpoint-2, then final/ does not fit.
    assert.equal(mountTmpfs(small, '42m', true), null);
    const second = await cli('train', '--resume', run, '--store', store, '--json-events');
    assert.equal(second.code, 1);
    assert.match(second.stderr, new RegExp(`^tunesmith: ${run}/final/model\\.safetensors: no space left on device \\(it needs 6\\.3 MiB, \\d+\\.\\d MiB is free there\\); free some space and resume\\n$`));
    assert.deepEqual(fs.readdirSync(run).sort(), ['.tunesmith-files.json', 'checkpoint-1', 'checkpoint-2']);

    // Room at last: the resume finishes with the loss of a run that never ran out of space.
    assert.equal(mountTmpfs(small, '100m', true), null);
    const third = await cli('train', '--resume', run, '--store', store, '--json-events');
    assert.equal(third.code, 0, third.stderr);
    const reference = await cli('train', '--config', writeConfig(dir, 'ref.json', fullConfig(path.join(dir, 'ref'), settings)), '--store', store, '--json-events');
    assert.equal(reference.code, 0, reference.stderr);
    const done = (r: { stdout: string }) => JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    assert.equal(done(third).train_loss, done(reference).train_loss);
    assert.equal(fs.statSync(path.join(run, 'final', 'model.safetensors')).size, fs.statSync(path.join(dir, 'ref', 'final', 'model.safetensors')).size);
  } finally {
    spawnSync('umount', [small]);
  }
});

test('a handoff job on a full disk fails naming a file in the job folder, and leaves no job and nothing partial', { skip: (process.platform !== 'linux' || process.getuid?.() !== 0) && 'needs root on Linux to mount a small tmpfs' }, async (t) => {
  const dir = tempDir(t);
  const small = path.join(dir, 'small');
  fs.mkdirSync(small);
  // gpt2-tiny's weights and tokenizer (about 11 MiB) travel in the job: 4 MiB cannot hold them.
  const refused = mountTmpfs(small, '4m');
  if (refused) return t.skip(`this machine cannot mount a tmpfs: ${refused}`);
  try {
    const config = resolveTrainConfig({ model: fixture('gpt2-tiny'), output_dir: path.join(dir, 'run'), method: 'full', data: { train: alpacaJsonl(dir) } });
    const job = path.join(small, 'job');
    await assert.rejects(writeHandoffJob({ config, out: job }), (e: Error) => e.message.includes(`${job}/`) && !e.message.includes('.partial') && /no space left on device/i.test(e.message));
    assert.deepEqual(fs.readdirSync(small), [], 'no job folder and no .job.partial');
  } finally {
    spawnSync('umount', [small]);
  }
});
