// One way of writing sizes and durations: the CLI and the app import the same functions.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eventLine } from '../core/train/event-lines';
import { formatBytes, formatDuration } from '../core/units';
import * as appFormat from '../renderer/src/lib/format';

test('durations: m:ss under an hour, h:mm:ss from an hour on, --:-- when unknown', () => {
  assert.equal(formatDuration(0), '0:00');
  assert.equal(formatDuration(59.6), '1:00');
  assert.equal(formatDuration(75 * 60), '1:15:00', 'not 75:00 as the CLI once wrote');
  assert.equal(formatDuration(10 * 3600 + 61), '10:01:01');
  assert.equal(formatDuration(null), '--:--');
  assert.equal(formatDuration(Number.POSITIVE_INFINITY), '--:--');
});

test('byte sizes: binary units with one decimal below 100 of a unit', () => {
  assert.equal(formatBytes(512), '512 B');
  assert.equal(formatBytes(1.1 * 2 ** 30), '1.1 GiB');
  assert.equal(formatBytes(12.34 * 2 ** 20), '12.3 MiB');
  assert.equal(formatBytes(475 * 2 ** 20), '475 MiB');
});

test('the app and the CLI write them the same way', () => {
  assert.equal(appFormat.formatBytes, formatBytes);
  assert.equal(appFormat.formatDuration, formatDuration);
  const done = eventLine({
    event: 'done',
    step: 10,
    output_dir: '/runs/x/final',
    train_loss: 1,
    last_loss: 1,
    result_step: 10,
    eval_loss: null,
    seconds: 75 * 60,
    stopped_early: false,
    best_step: null,
    measured_peak_bytes: 2 ** 30,
    measured_tensor_peak_bytes: 2 ** 29,
    estimated_peak_bytes: 2 ** 30,
  });
  assert.match(done, new RegExp(`^done in ${formatDuration(75 * 60)}:`));
});
