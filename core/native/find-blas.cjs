// Prints which CBLAS binding.gyp should link: "openblas" when its header and library are
// installed (Debian/Ubuntu: libopenblas-dev), otherwise "none" and the addon uses its own
// blocked sgemm. macOS always has Accelerate, which binding.gyp handles by OS.
const fs = require('node:fs');

const headers = ['/usr/include/cblas.h', '/usr/include/x86_64-linux-gnu/cblas.h', '/usr/include/aarch64-linux-gnu/cblas.h', '/usr/include/openblas/cblas.h'];
const libDirs = ['/usr/lib', '/usr/lib64', '/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/local/lib'];
const hasHeader = headers.some((h) => fs.existsSync(h));
const hasLib = libDirs.some((d) => fs.existsSync(`${d}/libopenblas.so`));
process.stdout.write(process.platform === 'linux' && hasHeader && hasLib && !process.env.TUNESMITH_NO_BLAS ? 'openblas' : 'none');
