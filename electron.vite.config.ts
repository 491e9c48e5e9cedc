import { svelte } from '@sveltejs/vite-plugin-svelte';
import { defineConfig } from 'electron-vite';
import type { Plugin } from 'vite';
import { resolve } from 'node:path';
import { BRIDGE_SCRIPT } from './core/web/protocol';

const root = import.meta.dirname;

/**
 * In dev, Vite injects CSS as <style> tags, which the page's strict CSP forbids.
 * The built app links real .css files, so only the dev server gets 'unsafe-inline'.
 */
function allowInlineStylesInDev(): Plugin {
  return {
    name: 'tunesmith:dev-inline-styles',
    apply: 'serve',
    transformIndexHtml: (html) => html.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'"),
  };
}

export default defineConfig({
  main: {
    build: {
      rolldownOptions: {
        // Workers run in utilityProcess.fork from out/main/<name>-worker.js (main/utility-launcher.ts).
        // The GPU window's preload is the training worker too, so it is built here, with it:
        // Electron loads a preload through Node's ES module loader only when it ends in .mjs.
        input: {
          index: resolve(root, 'main/index.ts'),
          'training-worker': resolve(root, 'core/app/training-worker.ts'),
          'inference-worker': resolve(root, 'core/app/inference-worker.ts'),
          'gpu-worker': resolve(root, 'preload/gpu-worker.ts'),
        },
        output: { entryFileNames: (chunk) => (chunk.name === 'gpu-worker' ? '[name].mjs' : '[name].js') },
      },
    },
  },
  preload: {
    build: {
      rolldownOptions: {
        input: { index: resolve(root, 'preload/index.ts') },
        // Sandboxed preloads are run as classic scripts with a minimal require(); they
        // cannot be ES modules. .cjs keeps Node from reading it as ESM under "type": "module".
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: {
    root: resolve(root, 'renderer'),
    build: {
      rolldownOptions: {
        // The web host's bridge (renderer/web-bridge.ts) is built beside the page under a fixed
        // name, so the host can load it without reading a manifest; Electron never loads it.
        // gpu-worker.html: the GPU window's empty page (main/gpu-window.ts).
        input: { index: resolve(root, 'renderer/index.html'), 'gpu-worker': resolve(root, 'renderer/gpu-worker.html'), 'web-bridge': resolve(root, 'renderer/web-bridge.ts') },
        output: { entryFileNames: (chunk) => (chunk.name === 'web-bridge' ? BRIDGE_SCRIPT : 'assets/[name]-[hash].js') },
      },
    },
    plugins: [svelte(), allowInlineStylesInDev()],
  },
});
