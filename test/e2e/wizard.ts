// Fills in the "New fine-tune" wizard as a person would in the web host: paths typed into
// the path fields (a browser has no file dialog), a preset, then the settings a run needs.
import type { Page } from 'playwright-core';
import type { TrainConfig } from '../../core/train/config';
import type { WebApp } from './web-app';

export interface WizardRun {
  name: string;
  /** A model folder on this computer. */
  model: string;
  data: string;
  method: TrainConfig['method'];
  maxLength: number;
  maxSteps: number;
  learningRate: number;
  /** Share of the data held back for evaluation. */
  validationSplit: number;
  evalSteps: number;
  samplePrompt: string;
}

/** Generous: the host answers each step's checks after a short pause for typing. */
const STEP_TIMEOUT_MS = 20_000;

async function next(page: Page, step: string): Promise<void> {
  const button = page.getByRole('button', { name: `Next: ${step}` });
  await button.click({ timeout: STEP_TIMEOUT_MS });
  await page.getByRole('heading', { level: 2, name: new RegExp(`^\\d\\. ${step}$`) }).waitFor();
}

/** The estimate for the settings as they are now: its meter is there and no longer busy. */
async function estimateSettled(page: Page): Promise<void> {
  await page.locator('[aria-label="Memory estimate"][aria-busy="false"]').getByRole('meter', { name: 'Estimated peak memory' }).waitFor({ timeout: STEP_TIMEOUT_MS });
}

/**
 * Goes through every step and starts the run; resolves with its id once the run page is
 * open. With `shoot`, each step is photographed as `<shoot>-<step>`.
 */
export async function startRunWithWizard(app: WebApp, run: WizardRun, shoot?: string): Promise<string> {
  const { page } = app;
  const shot = async (name: string) => {
    if (shoot) await app.screenshot(`${shoot}-${name}`, { window: true });
  };
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'New fine-tune' }).click();

  await page.getByRole('radio', { name: /^A model folder on this computer/ }).check();
  // By label: with recent paths to suggest, a path field is a combobox rather than a textbox.
  await page.getByLabel('Model folder', { exact: true }).fill(run.model);
  await page.getByText('Architecture').waitFor({ timeout: STEP_TIMEOUT_MS });
  // The window's view from the top: the steps and the catalog.
  await page.evaluate(() => window.scrollTo(0, 0));
  await shot('model');
  await next(page, 'Data');

  await page.getByLabel('Training data file', { exact: true }).fill(run.data);
  await page.getByRole('spinbutton', { name: 'Max length (tokens)' }).fill(String(run.maxLength));
  await page.getByText(/^Example 1: /).waitFor({ timeout: STEP_TIMEOUT_MS });
  await shot('data');
  await next(page, 'Method');

  await page.getByRole('radio', { name: run.method === 'lora' ? /^LoRA/ : /^Full fine-tune/ }).check();
  await estimateSettled(page);
  await page.getByRole('region', { name: 'Memory estimate' }).evaluate((el) => el.scrollIntoView({ block: 'center' }));
  await shot('method');
  await next(page, 'Settings');

  await page.getByRole('radio', { name: /^Quick test/ }).check();
  await page.getByRole('spinbutton', { name: 'Steps' }).fill(String(run.maxSteps));
  await page.getByRole('spinbutton', { name: 'Learning rate' }).fill(String(run.learningRate));
  await page.getByText('Advanced settings', { exact: true }).click();
  await page.getByRole('radio', { name: 'Hold back part of the training data' }).check();
  await page.getByRole('spinbutton', { name: 'Validation split' }).fill(String(run.validationSplit));
  await page.getByRole('spinbutton', { name: 'Evaluate every (steps)' }).fill(String(run.evalSteps));
  await page.getByRole('textbox', { name: 'Sample prompts' }).fill(run.samplePrompt);
  await estimateSettled(page);
  await shot('settings');
  await next(page, 'Review');

  await page.getByRole('textbox', { name: 'Run name' }).fill(run.name);
  if (shoot) {
    // The review measures a few steps to tell how long the run will take.
    await page.getByText('Measured on this computer').waitFor({ timeout: STEP_TIMEOUT_MS });
    await shot('review');
  }
  await page.getByRole('button', { name: 'Start training' }).click();
  await page.waitForURL(/#\/runs\/[^/?]+$/, { timeout: STEP_TIMEOUT_MS });
  return decodeURIComponent(new URL(page.url()).hash.split('/').at(-1)!);
}
