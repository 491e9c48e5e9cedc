// Renders build/icon.svg into the icons electron-builder packs (build/icon.png 512×512,
// build/icon.icns, build/icon.ico), each size drawn from the SVG rather than scaled down from
// one bitmap. Uses the UI tests' Chromium; the outputs are committed, so packaging needs no
// browser. Run after changing the SVG: npm run icons
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { findChromium } from '../test/ui/browser';

const BUILD = path.resolve(import.meta.dirname, '../build');

/** ICO: a directory of PNG images (Windows Vista and later read PNG entries); 256 is stored as 0. */
function ico(pngs: Map<number, Buffer>): Buffer {
  const entries = [...pngs];
  const header = Buffer.alloc(6 + 16 * entries.length);
  header.writeUInt16LE(0, 0);
  header.writeUInt16LE(1, 2); // type: icon
  header.writeUInt16LE(entries.length, 4);
  let offset = header.length;
  entries.forEach(([size, png], i) => {
    const at = 6 + 16 * i;
    header.writeUInt8(size % 256, at);
    header.writeUInt8(size % 256, at + 1);
    header.writeUInt16LE(1, at + 4); // colour planes
    header.writeUInt16LE(32, at + 6); // bits per pixel
    header.writeUInt32LE(png.length, at + 8);
    header.writeUInt32LE(offset, at + 12);
    offset += png.length;
  });
  return Buffer.concat([header, ...entries.map(([, png]) => png)]);
}

/** The icns element types that hold PNG data, by pixel size (ic10 is 512@2x). */
const ICNS_TYPES: [string, number][] = [
  ['icp4', 16],
  ['icp5', 32],
  ['icp6', 64],
  ['ic07', 128],
  ['ic08', 256],
  ['ic09', 512],
  ['ic10', 1024],
];

/** ICNS: 'icns' + total length, then (type, length including its 8-byte head, PNG) elements, big-endian. */
function icns(pngs: Map<number, Buffer>): Buffer {
  const elements = ICNS_TYPES.map(([type, size]) => {
    const png = pngs.get(size)!;
    const head = Buffer.alloc(8);
    head.write(type, 0, 'ascii');
    head.writeUInt32BE(png.length + 8, 4);
    return Buffer.concat([head, png]);
  });
  const head = Buffer.alloc(8);
  head.write('icns', 0, 'ascii');
  head.writeUInt32BE(8 + elements.reduce((sum, e) => sum + e.length, 0), 4);
  return Buffer.concat([head, ...elements]);
}

async function main(): Promise<void> {
  const svg = fs.readFileSync(path.join(BUILD, 'icon.svg'));
  const choice = findChromium();
  const browser = await chromium.launch({ executablePath: choice.executablePath, args: ['--no-sandbox', '--disable-gpu'], env: choice.env ? { ...process.env, ...choice.env } : undefined });
  const sizes = [16, 24, 32, 48, 64, 128, 256, 512, 1024];
  const pngs = new Map<number, Buffer>();
  try {
    for (const size of sizes) {
      const page = await browser.newPage({ viewport: { width: size, height: size } });
      await page.setContent(`<body style="margin:0"><img width="${size}" height="${size}" src="data:image/svg+xml;base64,${svg.toString('base64')}"></body>`);
      await page.locator('img').evaluate((img: HTMLImageElement) => img.decode());
      pngs.set(size, await page.screenshot({ omitBackground: true }));
      await page.close();
    }
  } finally {
    await browser.close();
  }
  fs.writeFileSync(path.join(BUILD, 'icon.png'), pngs.get(512)!);
  fs.writeFileSync(path.join(BUILD, 'icon.ico'), ico(new Map([16, 24, 32, 48, 64, 128, 256].map((s) => [s, pngs.get(s)!]))));
  fs.writeFileSync(path.join(BUILD, 'icon.icns'), icns(pngs));
  console.log(`wrote icon.png, icon.ico and icon.icns to ${BUILD}`);
}

await main();
