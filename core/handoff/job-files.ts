// The job folder's text files besides train.py: pinned requirements, DeepSpeed configs and
// the README with the launch commands.

/** The versions the generated train.py was run with (CPU, fp32) and test/fixtures/hf-fields was read from. */
export const CHECKED_WITH = { torch: '2.13.0', transformers: '5.18.0', peft: '0.21.0', accelerate: '1.15.0', safetensors: '0.8.0' } as const;

export function requirementsTxt(): string {
  return `${Object.entries(CHECKED_WITH).map(([name, version]) => `${name}==${version}`).join('\n')}\n# DeepSpeed ZeRO (ds_zero2.json, ds_zero3.json) also needs: pip install deepspeed\n`;
}

/**
 * "auto" lets Trainer fill batch sizes, accumulation and clipping from train.py's arguments;
 * no optimizer or scheduler block, so Trainer's own AdamW and schedule stay the run's.
 */
export function deepspeedConfig(stage: 2 | 3): Record<string, unknown> {
  const zero: Record<string, unknown> = { stage, overlap_comm: true, contiguous_gradients: true, reduce_bucket_size: 'auto' };
  // ZeRO-3 shards the weights themselves; gathering them at save writes one whole model folder.
  if (stage === 3) Object.assign(zero, { stage3_prefetch_bucket_size: 'auto', stage3_param_persistence_threshold: 'auto', stage3_gather_16bit_weights_on_model_save: true });
  return {
    zero_optimization: zero,
    zero_allow_untested_optimizer: true,
    gradient_accumulation_steps: 'auto',
    gradient_clipping: 'auto',
    train_batch_size: 'auto',
    train_micro_batch_size_per_gpu: 'auto',
  };
}

export interface ReadmeFacts {
  runName: string;
  method: 'full' | 'lora';
  model: string;
  modelInJob: boolean;
  trainExamples: number;
  epochs: number;
  totalSteps: number;
  notes: string[];
}

export function jobReadme(f: ReadmeFacts): string {
  return `# ${f.runName}: a Tunesmith run handed to Hugging Face Trainer

${f.method === 'lora' ? 'LoRA' : 'Full'} fine-tuning of \`${f.model}\`${f.modelInJob ? ' (copied into `model/`)' : ' (downloaded from the Hub by the script)'}: ${f.trainExamples} training examples, ${f.epochs} epoch file(s), ${f.totalSteps} optimizer steps.
\`data/train.jsonl\` holds the examples as Tunesmith tokenized and masked them (\`input_ids\`, \`labels\` with -100 where
no loss is taken), every epoch in the order Tunesmith would read it (\`epoch\` from 0); \`train.py\` feeds them in
that order and takes each step's loss as the mean over all its label tokens, as Tunesmith does. On one GPU in
fp32 it repeats Tunesmith's per-step losses.

## Set up

\`\`\`sh
python -m venv .venv && . .venv/bin/activate
pip install -r requirements.txt     # CUDA builds of torch: see pytorch.org for the index URL
\`\`\`

## Run

\`\`\`sh
python train.py                                              # one GPU (or the CPU)
accelerate launch --num_processes 4 train.py                 # 4 GPUs on this machine
accelerate launch --num_machines 2 --machine_rank 0 --main_process_ip 10.0.0.1 --main_process_port 29500 \\
    --num_processes 16 train.py                              # 2 machines × 8 GPUs; rank 1 on the other machine
accelerate launch --num_processes 8 train.py --deepspeed ds_zero2.json   # optimizer state sharded
accelerate launch --num_processes 8 train.py --deepspeed ds_zero3.json   # weights sharded too: models that do not fit one GPU
\`\`\`

\`--model\` points at another copy of the model (a folder or Hub id); \`--output_dir\` moves the result (default \`output/\`).
With N processes each takes \`per_device_train_batch_size\` examples, so a step sees N times the batch: divide
\`gradient_accumulation_steps\` by N in \`train.py\` to keep the run's effective batch. bf16/fp16 are faster on
GPUs and change the numbers slightly; the script trains in fp32.

## Bring the result back

The model${f.method === 'lora' ? ' adapter' : ''} lands in \`output/final/\`, the curves in \`output/trainer_state.json\`. Copy the \`output/\` folder
back and run \`tunesmith import output/\` (or *Import a run* in the app): the run appears in Runs, Compare and the
Playground, tagged \`imported\`. Tunesmith never reads \`training_args.bin\` (a pickle).
${f.notes.length ? `\n## Differences from the Tunesmith run\n\n${f.notes.map((n) => `- ${n}`).join('\n')}\n` : ''}`;
}
