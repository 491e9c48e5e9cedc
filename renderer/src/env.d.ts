/// <reference types="vite/client" />
import type { TunesmithApi } from '../../core/api/contract';

declare global {
  interface Window {
    /** Put there by preload/index.ts; absent when the page is opened outside a Tunesmith host. */
    tunesmith?: TunesmithApi;
  }
}
