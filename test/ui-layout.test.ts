// Every screen at the window's default size (1100×760) and at 800×600, in both themes, against
// the real web host: nothing is wider than the window (a table or a long name scrolls or wraps
// in its own box), and each screen is saved as a screenshot for people to look at.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { Page } from 'playwright-core';
import { openStore } from '../core/store';
import { startWebApp, type WebApp } from './e2e/web-app';
import { recordRun, type RunSpec } from './runs-fixtures';
import { SCREENSHOTS } from './ui/harness';

const SIZES = [
  { width: 1100, height: 760 },
  { width: 800, height: 600 },
];

const RUN: RunSpec = {
  name: 'gpt2-customer-support-replies-lora-with-a-long-name',
  model: 'openai-community/gpt2',
  method: 'lora',
  learningRate: 2e-4,
  steps: 40,
  floor: 1.4,
  status: 'completed',
  evalEvery: 8,
  tags: ['support', 'baseline'],
  samplePrompts: ['How do I reset my password?'],
  estimatedPeakBytes: 2.1 * 2 ** 30,
  measuredPeakBytes: 1.9 * 2 ** 30,
};

let app: WebApp;
const ids: Record<string, string> = {};

before(async () => {
  app = await startWebApp();
  const store = openStore(path.join(app.home, 'tunesmith.db'));
  try {
    ids.completed = recordRun(store, RUN);
    ids.other = recordRun(store, { ...RUN, name: 'bloom-560m-full', model: 'bigscience/bloom-560m', method: 'full', floor: 1.2, tags: [] });
    // Runs that did not complete measured no peak.
    ids.failed = recordRun(store, { ...RUN, name: 'gpt2-too-big', status: 'failed', steps: 12, measuredPeakBytes: undefined });
    ids.stopped = recordRun(store, { ...RUN, name: 'gpt2-stopped', status: 'stopped', steps: 20, measuredPeakBytes: undefined });
  } finally {
    store.close();
  }
});

after(() => app?.close());

/** The screens, each with the heading that says it has drawn. */
function screens(): { name: string; hash: string; heading: RegExp; ready?: string }[] {
  return [
    { name: 'new', hash: '#/new', heading: /New fine-tune/ },
    { name: 'runs', hash: '#/runs', heading: /^Runs$/, ready: RUN.name },
    { name: 'run-completed', hash: `#/runs/${ids.completed}`, heading: new RegExp(RUN.name), ready: 'How do I reset my password?' },
    // A run that ended early says so in its own words, not "appears when the run ends".
    { name: 'run-failed', hash: `#/runs/${ids.failed}`, heading: /gpt2-too-big/, ready: 'The run failed before its end, so its peak was not measured.' },
    { name: 'run-stopped', hash: `#/runs/${ids.stopped}`, heading: /gpt2-stopped/, ready: 'A stopped run records no measured peak' },
    { name: 'compare', hash: `#/compare?ids=${ids.completed},${ids.other}`, heading: /Compare/, ready: 'bloom-560m-full' },
    { name: 'playground', hash: '#/playground', heading: /Playground/ },
    { name: 'settings', hash: '#/settings', heading: /Settings/ },
  ];
}

async function overflow(page: Page): Promise<number> {
  return page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
}

for (const size of SIZES) {
  for (const theme of ['light', 'dark'] as const) {
    test(`every screen fits a ${size.width}×${size.height} window in the ${theme} theme`, async () => {
      const { page } = app;
      await page.setViewportSize(size);
      await page.emulateMedia({ colorScheme: theme });
      const wider: string[] = [];
      for (const screen of screens()) {
        await page.goto(`${app.url}${screen.hash}`);
        await page.getByRole('heading', { level: 1, name: screen.heading }).waitFor();
        // Lists and charts fill in after the heading.
        if (screen.ready) await page.getByText(screen.ready).first().waitFor();
        const extra = await overflow(page);
        if (extra > 0) wider.push(`${screen.name}: ${extra}px`);
        // At the window's own size the runs table shows every column (Eval loss, Tags, Delete) without scrolling.
        if (screen.name === 'runs' && size.width >= 1100) {
          const hidden = await page.locator('table').evaluate((t) => t.scrollWidth - (t.parentElement as HTMLElement).clientWidth);
          if (hidden > 0) wider.push(`the runs table: ${hidden}px past its frame`);
        }
        await page.screenshot({ path: path.join(SCREENSHOTS, `layout-${screen.name}-${size.width}x${size.height}-${theme}.png`) });
        if (screen.name === 'new') {
          // Scrolled to the bottom of a step, its list of steps is still in view.
          await page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
          const steps = await page.getByRole('navigation', { name: 'Steps' }).boundingBox();
          if (!steps || steps.y < 0 || steps.y > size.height) wider.push(`the wizard's steps scrolled out of view (${JSON.stringify(steps)})`);
        }
      }
      assert.deepEqual(wider, [], 'screens wider than the window, or their fixed parts scrolled away');
    });
  }
}

test('the window has an icon: the favicon is served as an SVG', async () => {
  const { page } = app;
  await page.goto(`${app.url}#/runs`);
  const href = await page.locator('link[rel="icon"]').getAttribute('href');
  assert.ok(href, 'index.html links an icon');
  const served = await page.evaluate(async (url) => {
    const res = await fetch(url);
    return { ok: res.ok, type: res.headers.get('content-type'), body: await res.text() };
  }, new URL(href, page.url()).href);
  assert.equal(served.ok, true);
  assert.match(served.type ?? '', /image\/svg\+xml/);
  assert.match(served.body, /^<svg /);
});
