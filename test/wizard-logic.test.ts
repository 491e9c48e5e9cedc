// The wizard's pure parts: the form, its checks against the trainer's own resolver, the
// presets and the review summary. The resolver (core/train/config.ts) is the reference
// throughout: whatever the wizard accepts, it must accept, and the other way round.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigFieldError, resolveTrainConfig, totalOptimizerSteps } from '../core/train/config';
import { FIELDS, STEPS, type ConfigField } from '../renderer/src/wizard/fields';
import { draftFields, formFromConfig, initialForm, isFolderSource, TRAINER_DEFAULTS, type WizardForm } from '../renderer/src/wizard/form';
import { getPath, withPatch } from '../renderer/src/wizard/paths';
import { activePreset, MIN_CURVE_POINTS, MIN_EVALUATIONS, PRESET_NAMES, presetPatch } from '../renderer/src/wizard/presets';
import { cleanPastedPath } from '../renderer/src/wizard/recent-paths';
import { failingField } from '../renderer/src/wizard/retry';
import { describeValue, reviewSections, roughDuration, suggestedRunName } from '../renderer/src/wizard/review';
import { checkForm, plainWords, stepProblems } from '../renderer/src/wizard/validation';

function filled(patch: Record<string, unknown> = {}): WizardForm {
  return withPatch(initialForm(), { model: 'gpt2', 'data.train': '/data/alpaca-train.json', ...patch });
}

function resolverAccepts(form: WizardForm): boolean {
  try {
    resolveTrainConfig({ ...draftFields(form), output_dir: '/runs/x' });
    return true;
  } catch (error) {
    if (error instanceof ConfigFieldError) return false;
    throw error;
  }
}

test('a new form needs only a model and a data file, and then is what the trainer resolves', () => {
  const fresh = checkForm(initialForm());
  assert.deepEqual(Object.keys(fresh.problems).sort(), ['data.train', 'model']);
  assert.equal(fresh.problems.model, FIELDS.model.empty);
  assert.equal(fresh.problems['data.train'], FIELDS['data.train'].empty);
  assert.equal(fresh.draft, null);

  const { problems, draft } = checkForm(filled());
  assert.deepEqual(problems, {});
  assert.ok(draft);
  const resolved = resolveTrainConfig({ ...draft, output_dir: '/runs/x' });
  // Every setting the Balanced preset leaves alone keeps the trainer's default.
  const preset = presetPatch('balanced', { method: TRAINER_DEFAULTS.method, validationSource: 'none' });
  for (const field of Object.keys(FIELDS) as ConfigField[]) {
    if (field in preset || field === 'model' || field === 'data.train') continue;
    assert.deepEqual(getPath(resolved, field), getPath(TRAINER_DEFAULTS, field), field);
  }
  assert.equal(resolved.learning_rate, preset.learning_rate);
  assert.equal(resolved.data.validation_split, preset['data.validation_split']);
});

test('the wizard accepts exactly what the trainer accepts', () => {
  const cases: Record<string, unknown>[] = [
    { learning_rate: 0 },
    { learning_rate: -1e-4 },
    { learning_rate: 3e-4 },
    { 'lora.r': 0 },
    { 'lora.r': 2.5 },
    { 'lora.r': 64 },
    { 'lora.dropout': 1 },
    { warmup_ratio: 0.99 },
    { warmup_ratio: 1 },
    { per_device_train_batch_size: 0 },
    { seed: -3 },
    { seed: 1.5 },
    { adam_beta2: 1 },
    { max_grad_norm: 0 },
    { save_total_limit: 0 },
    { save_total_limit: null },
    { length: 'steps', max_steps: 0 },
    { length: 'steps', max_steps: 10 },
    { 'data.max_length': 0 },
    { validationSource: 'split', 'data.validation_split': 1 },
    { validationSource: 'none', early_stopping_patience: 2 },
    { validationSource: 'file', 'data.validation': '/data/alpaca-test.json', early_stopping_patience: 2 },
  ];
  for (const patch of cases) {
    const form = filled(patch);
    const { problems, draft } = checkForm(form);
    assert.equal(draft !== null, resolverAccepts(form), JSON.stringify(patch));
    assert.equal(Object.keys(problems).length === 0, draft !== null, JSON.stringify(patch));
  }
});

test('problems are in plain words, at the setting they are about', () => {
  const { problems } = checkForm(filled({ learning_rate: 0, 'lora.r': 0, warmup_ratio: 1.5, seed: null }));
  assert.deepEqual(Object.keys(problems).sort(), ['learning_rate', 'lora.r', 'seed', 'warmup_ratio']);
  for (const [field, message] of Object.entries(problems)) {
    assert.ok(message.startsWith(FIELDS[field as ConfigField].label), message);
    assert.doesNotMatch(message, /"|got |[<>≥[\]]/, message);
  }
  assert.equal(problems.seed, `${FIELDS.seed.label} needs a value`);
});

test('a rule spanning two settings is shown at the one that breaks it', () => {
  const none = checkForm(filled({ validationSource: 'none', early_stopping_patience: 2 }));
  assert.deepEqual(Object.keys(none.problems), ['early_stopping_patience']);
  assert.match(none.problems.early_stopping_patience ?? '', new RegExp(`${FIELDS['data.validation_split'].label}`));
  assert.deepEqual(checkForm(filled({ validationSource: 'split', 'data.validation_split': 0.2, early_stopping_patience: 2 })).problems, {});
  const emptyFile = checkForm(filled({ validationSource: 'file', 'data.validation': '  ' }));
  assert.equal(emptyFile.problems['data.validation'], FIELDS['data.validation'].empty);
});

test('plainWords swaps config keys for labels and symbols for words', () => {
  try {
    resolveTrainConfig({ model: 'm', output_dir: 'o', data: { train: 't' }, lora: { dropout: 2 } });
    assert.fail('the resolver accepted a dropout of 2');
  } catch (error) {
    const words = plainWords((error as Error).message);
    assert.ok(words.startsWith(FIELDS['lora.dropout'].label), words);
    assert.doesNotMatch(words, /\[|\)$|got/);
  }
});

test('a full fine-tune ignores the LoRA settings', () => {
  const { problems, draft } = checkForm(filled({ method: 'full', 'lora.r': 0 }));
  assert.deepEqual(problems, {});
  assert.equal(draft?.lora, undefined);
  assert.ok(checkForm(filled({ method: 'lora', 'lora.r': 0 })).problems['lora.r']);
});

test('the draft turns text inputs into the config shapes', () => {
  const fields = draftFields(
    filled({
      'lora.target_modules': ' c_attn, c_proj ,',
      'lora.init_adapter': '  ',
      sample_prompts: 'Hello\n\n  What is LoRA?  \n',
      'data.format': '',
      validationSource: 'file',
      'data.validation': ' /data/val.json ',
      'data.validation_split': 0.3,
      length: 'epochs',
      max_steps: 40,
    }),
  );
  assert.deepEqual((fields.lora as { target_modules: string[] }).target_modules, ['c_attn', 'c_proj']);
  assert.equal((fields.lora as { init_adapter: string | null }).init_adapter, null);
  assert.deepEqual(fields.sample_prompts, ['Hello', 'What is LoRA?']);
  const data = fields.data as Record<string, unknown>;
  assert.equal(data.format, null);
  assert.equal(data.validation, '/data/val.json');
  assert.equal(data.validation_split, 0, 'the split is not sent with a file');
  assert.equal(fields.max_steps, -1, 'epochs decide');
  assert.equal(draftFields(filled({ length: 'steps', max_steps: 40 })).max_steps, 40);
  for (const uiOnly of ['name', 'modelOrigin', 'validationSource', 'length']) assert.ok(!(uiOnly in fields), uiOnly);
});

test('withPatch sets dotted keys on a copy and refuses keys the form lacks', () => {
  const form = filled();
  const patched = withPatch(form, { 'data.max_length': 128, per_device_train_batch_size: 2 });
  assert.equal(patched.data.max_length, 128);
  assert.equal(patched.per_device_train_batch_size, 2);
  assert.equal(form.data.max_length, TRAINER_DEFAULTS.data.max_length);
  assert.equal(patched.lora, form.lora, 'untouched parts are shared');
  assert.throws(() => withPatch(form, { 'data.max_len': 1 }), /Unknown setting "data\.max_len"/);
});

test('every preset is valid for both methods and is recognised until a setting changes', () => {
  for (const method of ['lora', 'full'] as const) {
    for (const name of PRESET_NAMES) {
      const base = filled({ method });
      const form = withPatch(base, presetPatch(name, base));
      assert.deepEqual(checkForm(form).problems, {}, `${name} with ${method}`);
      assert.equal(activePreset(form), name);
      assert.equal(activePreset(withPatch(form, { learning_rate: 0.123 })), null);
    }
  }
  for (const name of PRESET_NAMES) {
    const lora = presetPatch(name, { method: 'lora', validationSource: 'none' }).learning_rate as number;
    const full = presetPatch(name, { method: 'full', validationSource: 'none' }).learning_rate as number;
    assert.ok(lora > full, `${name}: LoRA takes a higher rate`);
  }
  const withFile = filled({ validationSource: 'file', 'data.validation': '/data/val.json' });
  const thorough = withPatch(withFile, presetPatch('thorough', withFile));
  assert.equal(thorough.validationSource, 'file', 'a chosen validation file stays');
  assert.deepEqual(checkForm(thorough).problems, {});
});

test('presets fit their intervals to the data: every run draws ≥ 20 loss points and evaluates ≥ 5 times, never sparser than the preset', () => {
  for (const method of ['lora', 'full'] as const) {
    for (const name of PRESET_NAMES) {
      const base = filled({ method });
      const unscaled = presetPatch(name, base);
      for (const examples of [12, 60, 500, 5000, 200_000]) {
        const form = withPatch(base, presetPatch(name, base, examples));
        const draft = checkForm(form).draft!;
        assert.ok(draft, `${name}/${method}/${examples}: ${JSON.stringify(checkForm(form).problems)}`);
        // The trainer's own count of steps for this data, the held-back share left out.
        const config = resolveTrainConfig({ ...draft, model: '-', output_dir: '-' });
        const held = Math.round(examples * config.data.validation_split);
        const steps = totalOptimizerSteps(config, examples - held);
        const at = `${name}/${method} on ${examples} examples (${steps} steps)`;
        assert.ok(Math.floor(steps / config.logging_steps) >= Math.min(steps, MIN_CURVE_POINTS), `${at}: logging every ${config.logging_steps}`);
        assert.ok(config.logging_steps <= (unscaled.logging_steps as number), at);
        if ((unscaled.eval_steps as number) > 0) {
          assert.ok(Math.floor(steps / config.eval_steps) >= Math.min(steps, MIN_EVALUATIONS), `${at}: evaluating every ${config.eval_steps}`);
          assert.ok(config.eval_steps <= (unscaled.eval_steps as number), at);
          if (config.save_steps > 0) assert.equal(config.save_steps % config.eval_steps, 0, `${at}: checkpoints fall on evaluations`);
        }
        assert.equal(activePreset(form, examples), name, `${at}: still recognised as the preset`);
      }
    }
  }
  // The case: "Balanced" on 60 examples gave 3 loss points and one evaluation.
  const base = filled({ method: 'lora' });
  const sixty = withPatch(base, presetPatch('balanced', base, 60));
  assert.ok(sixty.logging_steps! < 10 && sixty.eval_steps! < 100);
});

test('stepProblems keeps each step to its own settings', () => {
  const { problems } = checkForm(withPatch(initialForm(), { 'data.train': '', learning_rate: 0, 'lora.r': 0 }));
  assert.deepEqual(stepProblems(problems, 'model'), [FIELDS.model.empty]);
  assert.deepEqual(stepProblems(problems, 'data'), [FIELDS['data.train'].empty]);
  assert.deepEqual(stepProblems(problems, 'method'), [problems['lora.r']]);
  assert.deepEqual(stepProblems(problems, 'settings'), [problems.learning_rate]);
  assert.deepEqual(stepProblems({ ...problems, name: 'Give the run a name' }, 'review'), ['Give the run a name']);
});

test('the review lists every setting the run will use, once, under its step', () => {
  for (const method of ['lora', 'full'] as const) {
    const draft = checkForm(filled({ method })).draft;
    assert.ok(draft);
    const sections = reviewSections(draft);
    const labels = sections.flatMap((s) => s.rows.map(([label]) => label));
    const expected = (Object.keys(FIELDS) as ConfigField[]).filter((f) => getPath(draft, f) !== undefined).map((f) => FIELDS[f].label);
    assert.deepEqual([...labels].sort(), [...expected].sort());
    assert.equal(labels.some((l) => l === FIELDS['lora.r'].label), method === 'lora');
    assert.deepEqual(
      sections.map((s) => s.step),
      STEPS.map((s) => s.id).filter((id) => id !== 'review'),
    );
  }
  assert.equal(describeValue('save_total_limit', null), 'keep all');
  assert.equal(describeValue('shuffle', false), 'no');
  assert.equal(describeValue('seed', 7), '7');
});

test('durations are rounded the way a person says them', () => {
  assert.equal(roughDuration(59), 'under a minute');
  assert.equal(roughDuration(89), 'about 1 minute');
  assert.equal(roughDuration(150), 'about 3 minutes');
  assert.equal(roughDuration(3600), 'about 1 hour');
  assert.equal(roughDuration(2 * 3600 + 10 * 60), 'about 2 hours 10 minutes');
});

test('a run is named after its model, data and method', () => {
  assert.equal(suggestedRunName({ model: 'bigscience/bloom-560m', method: 'full', data: { train: 'C:\\data\\chat.jsonl' } }), 'bloom-560m · chat · full');
  assert.equal(suggestedRunName({ model: '/models/gpt2/', method: 'lora', data: { train: '/d/alpaca-train.json' } }), 'gpt2 · alpaca-train · LoRA');
});

test('formFromConfig: a stored config, through the form and its checks, is the same config again', () => {
  const configs = [
    { data: { train: '/d/a.json' } },
    {
      method: 'full',
      max_steps: 120,
      data: { train: '/d/qa.csv', validation: '/d/val.csv', format: 'csv', template: 'chatml', max_length: 96, prompt_column: 'q', response_column: 'a' },
      sample_prompts: ['one', 'two'],
      dropout: 0.1,
      save_total_limit: 3,
    },
    {
      lora: { r: 16, alpha: 32, dropout: 0.1, target_modules: ['c_attn', 'c_fc'], init_adapter: '/adapters/x' },
      data: { train: '/d/t.txt', validation_split: 0.25, packing: true },
      early_stopping_patience: 2,
      eval_steps: 5,
    },
  ];
  for (const raw of configs) {
    const stored = resolveTrainConfig({ model: '/cache/gpt2', output_dir: '/runs/r1', ...raw });
    const form = formFromConfig(stored, 'gpt2', 'again');
    assert.equal(form.name, 'again');
    assert.equal(form.modelOrigin, 'catalog');
    const { draft, problems } = checkForm(form);
    assert.deepEqual(problems, {});
    const { output_dir: _o, model: _m, ...expected } = stored;
    const { model, output_dir: _dir, ...again } = resolveTrainConfig({ ...draft, output_dir: '-' });
    assert.equal(model, 'gpt2');
    // A full fine-tune does not send LoRA settings: the trainer ignores them there.
    assert.deepEqual(again, { ...expected, lora: stored.method === 'full' ? TRAINER_DEFAULTS.lora : expected.lora }, JSON.stringify(raw));
  }
});

test('isFolderSource: absolute, home-relative and Windows paths are folders; Hub ids are not', () => {
  for (const folder of ['/models/gpt2', '~/models/gpt2', 'C:\\models\\gpt2', 'D:/m', '\\\\server\\share']) assert.equal(isFolderSource(folder), true, folder);
  for (const id of ['gpt2', 'bigscience/bloom-560m', 'distilgpt2']) assert.equal(isFolderSource(id), false, id);
});

test('failingField: the setting a run error names, dotted or by its last part; none for other failures', () => {
  const cases: [string | null, ConfigField | null][] = [
    ['lora.target_modules ["foo_proj"] match no projection of this gpt2 model (choose from c_attn, c_proj, c_fc)', 'lora.target_modules'],
    ['training config: "data.max_length" must be a whole number > 0 (got 0)', 'data.max_length'],
    ['the longest example needs max_length 900 but the model reads 128 positions', 'data.max_length'],
    ['config: "learning_rate" must be a number > 0', 'learning_rate'],
    ['the training process ended (exit code 137)', null],
    ['out of memory while training', null],
    [null, null],
  ];
  for (const [error, field] of cases) assert.equal(failingField(error), field, String(error));
});

test('cleanPastedPath: quotes and surrounding spaces go; quotes inside a name stay', () => {
  assert.equal(cleanPastedPath('  "/home/me/my data.json"  '), '/home/me/my data.json');
  assert.equal(cleanPastedPath("'/tmp/a b.csv'"), '/tmp/a b.csv');
  assert.equal(cleanPastedPath('/tmp/it\'s.json'), "/tmp/it's.json");
  assert.equal(cleanPastedPath('"/tmp/half.json'), '"/tmp/half.json');
  assert.equal(cleanPastedPath('~/data.jsonl'), '~/data.jsonl');
});
