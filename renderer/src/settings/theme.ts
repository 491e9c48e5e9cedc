import type { Settings } from '../../../core/api/contract';

/** app.css follows the system unless <html data-theme> forces light or dark. */
export function applyTheme(theme: Settings['theme']): void {
  if (theme === 'system') delete document.documentElement.dataset.theme;
  else document.documentElement.dataset.theme = theme;
}
