// The train.py a handoff job runs: Hugging Face Trainer (+ peft for LoRA) over the examples
// Tunesmith tokenized, fed in Tunesmith's order and batched, masked and averaged the way
// Tunesmith's trainer does, so one GPU repeats Tunesmith's loss curve.

/** A Python literal for a JSON-able value (None/True/False, lists, dicts, numbers, strings). */
export function pythonLiteral(value: unknown): string {
  if (value === null || value === undefined) return 'None';
  if (value === true) return 'True';
  if (value === false) return 'False';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`cannot write ${value} as a Python literal`);
    return Number.isInteger(value) ? String(value) : String(value).replace(/^(-?)\./, '$10.');
  }
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(pythonLiteral).join(', ')}]`;
  return `{${Object.entries(value as Record<string, unknown>).map(([k, v]) => `${JSON.stringify(k)}: ${pythonLiteral(v)}`).join(', ')}}`;
}

/** `name=value,` lines, one per argument, for a call the static check can read back. */
function keywordLines(args: Record<string, unknown>, indent: string): string {
  return Object.entries(args).map(([k, v]) => `${indent}${k}=${pythonLiteral(v)},`).join('\n');
}

export interface ScriptSpec {
  /** Hub id or folder (relative to the job) that from_pretrained reads. */
  model: string;
  revision: string | null;
  method: 'full' | 'lora';
  padId: number;
  /** Dropout overrides for the model's config (its own names), or null to keep the model's. */
  dropoutOverrides: Record<string, number> | null;
  trainingArguments: Record<string, unknown>;
  /** LoraConfig keyword arguments; null for full fine-tuning. */
  loraConfig: Record<string, unknown> | null;
  earlyStoppingPatience: number | null;
}

export function trainScript(s: ScriptSpec): string {
  const lora = s.loraConfig;
  return `# Written by Tunesmith's handoff: the run's recipe for Hugging Face Trainer${lora ? ' + peft' : ''}.
# One GPU:        python train.py
# Several GPUs:   accelerate launch --num_processes N train.py      (see README.md)
# Every hyperparameter is in the TrainingArguments${lora ? ' and LoraConfig' : ''} below, under its own name.
import argparse
import json
import os

import torch
from torch.utils.data import Dataset, Sampler
from transformers import AutoModelForCausalLM, AutoTokenizer, EarlyStoppingCallback, Trainer, TrainerCallback, TrainingArguments, set_seed
${lora ? 'from peft import LoraConfig, get_peft_model, set_peft_model_state_dict\nfrom safetensors.torch import load_file\n' : ''}
HERE = os.path.dirname(os.path.abspath(__file__))
IGNORE_INDEX = -100
PAD_ID = ${s.padId}

parser = argparse.ArgumentParser()
parser.add_argument("--model", default=${pythonLiteral(s.model)}, help="Hub id or model folder (default: the run's model)")
parser.add_argument("--output_dir", default=os.path.join(HERE, "output"))
parser.add_argument("--deepspeed", default=None, help="ds_zero2.json or ds_zero3.json")
cli = parser.parse_args()
model_path = cli.model if os.path.isabs(cli.model) or not os.path.isdir(os.path.join(HERE, cli.model)) else os.path.join(HERE, cli.model)


def read_jsonl(name):
    path = os.path.join(HERE, "data", name)
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


class Examples(Dataset):
    def __init__(self, rows):
        self.rows = rows

    def __len__(self):
        return len(self.rows)

    def __getitem__(self, i):
        return {"input_ids": self.rows[i]["input_ids"], "labels": self.rows[i]["labels"]}


class EpochOrder(Sampler):
    """Epoch e reads the rows Tunesmith wrote for epoch e, in the file's order: Tunesmith's shuffle, not torch's."""

    def __init__(self, rows):
        self.by_epoch = {}
        for i, row in enumerate(rows):
            self.by_epoch.setdefault(row["epoch"], []).append(i)
        self.epoch = 0

    def set_epoch(self, epoch):
        self.epoch = epoch

    def __iter__(self):
        order = self.by_epoch[min(self.epoch, max(self.by_epoch))]
        self.epoch += 1  # where set_epoch is not relayed (several processes), the next pass is the next epoch
        return iter(order)

    def __len__(self):
        return len(self.by_epoch[0])


def collate(rows):
    """Right padding to the longest row; padding is out of attention and loss, as in Tunesmith."""
    width = max(len(r["input_ids"]) for r in rows)
    pad = lambda row, value: row + [value] * (width - len(row))
    return {
        "input_ids": torch.tensor([pad(r["input_ids"], PAD_ID) for r in rows]),
        "labels": torch.tensor([pad(r["labels"], IGNORE_INDEX) for r in rows]),
        "attention_mask": torch.tensor([pad([1] * len(r["input_ids"]), 0) for r in rows]),
    }


class TunesmithTrainer(Trainer):
    def _get_train_sampler(self, train_dataset=None):
        return EpochOrder(self.train_dataset.rows)

    def evaluate(self, eval_dataset=None, ignore_keys=None, metric_key_prefix="eval"):
        """Token-weighted mean loss over the whole validation set (Trainer's own averages per batch)."""
        model = self.model
        model.eval()
        total, tokens = 0.0, 0
        with torch.no_grad():
            for batch in self.get_eval_dataloader(eval_dataset):
                batch = self._prepare_inputs(batch)
                n = int((batch["labels"][:, 1:] != IGNORE_INDEX).sum())
                loss = model(**batch).loss
                total += float(loss) * n
                tokens += n
        total = self.accelerator.reduce(torch.tensor([total, tokens], device=self.args.device, dtype=torch.float64), reduction="sum")
        metrics = {f"{metric_key_prefix}_loss": float(total[0] / total[1])}
        self.log(metrics)
        self.control = self.callback_handler.on_evaluate(self.args, self.state, self.control, metrics)
        model.train()
        return metrics


class LogLastStep(TrainerCallback):
    """Tunesmith logs the last step whatever logging_steps is."""

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step >= state.max_steps:
            control.should_log = True


def main():
    train_rows = read_jsonl("train.jsonl")
    validation_rows = read_jsonl("validation.jsonl")
    set_seed(${pythonLiteral(s.trainingArguments.seed)})
    # The run's dropout setting under this model config's names (none: the model's own).
    model = AutoModelForCausalLM.from_pretrained(model_path, revision=${pythonLiteral(s.revision)}, dtype=torch.float32${s.dropoutOverrides ? Object.entries(s.dropoutOverrides).map(([k, v]) => `, ${k}=${pythonLiteral(v)}`).join('') : ''})
${lora ? `    lora_config = LoraConfig(
${keywordLines(lora, '        ')}
    )
    model = get_peft_model(model, lora_config)
    # Tunesmith's initial adapter weights, so both start from the same point (peft would draw its own).
    init = load_file(os.path.join(HERE, "init_adapter", "adapter_model.safetensors"))
    result = set_peft_model_state_dict(model, init)
    if result.unexpected_keys:
        raise SystemExit(f"init_adapter: keys peft does not know: {result.unexpected_keys}")
` : ''}    args = TrainingArguments(
${keywordLines(s.trainingArguments, '        ')}
        output_dir=cli.output_dir,
        deepspeed=cli.deepspeed,
    )
    callbacks = [LogLastStep()]${s.earlyStoppingPatience !== null ? `\n    callbacks.append(EarlyStoppingCallback(early_stopping_patience=${s.earlyStoppingPatience}))` : ''}
    trainer = TunesmithTrainer(
        model=model,
        args=args,
        train_dataset=Examples(train_rows),
        eval_dataset=Examples(validation_rows) if validation_rows else None,
        data_collator=collate,
        callbacks=callbacks,
    )
    trainer.train()
    # The result goes to output_dir/final, where \`tunesmith import\` and Tunesmith's own runs keep it.
    final = os.path.join(cli.output_dir, "final")
    trainer.save_model(final)
    trainer.save_state()
    if trainer.is_world_process_zero():
${lora ? '        pass  # an adapter folder needs no tokenizer\n' : '        AutoTokenizer.from_pretrained(model_path, revision=' + pythonLiteral(s.revision) + ').save_pretrained(final)\n'}        with open(os.path.join(HERE, "job.json"), encoding="utf-8") as f:
            job = json.load(f)
        with open(os.path.join(cli.output_dir, "job.json"), "w", encoding="utf-8") as f:
            json.dump(job, f, indent=2)


if __name__ == "__main__":
    main()
`;
}
