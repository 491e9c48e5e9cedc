// A file appears under its name complete or not at all: written to a hidden temporary
// name beside it, flushed, then renamed, so an interrupted export never leaves a
// half-written file that a loader would try to read.
import fs from 'node:fs';
import path from 'node:path';

export function writeFileAtomically(file: string, fill: (write: (bytes: Uint8Array) => void) => void): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  const fd = fs.openSync(tmp, 'w');
  try {
    fill((bytes) => {
      for (let done = 0; done < bytes.length; ) done += fs.writeSync(fd, bytes, done);
    });
    fs.fsyncSync(fd);
  } catch (err) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  fs.closeSync(fd);
  fs.renameSync(tmp, file);
}
