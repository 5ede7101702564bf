// Removes a package's dist/ before it is built, so files of modules that were moved or deleted
// never linger there and end up in a published tarball (tsc only ever adds and overwrites).
import { rmSync } from 'node:fs';

rmSync('dist', { recursive: true, force: true });
