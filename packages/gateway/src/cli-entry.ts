// Entry point used by `bin/httpauth-gateway.js` (through dist) and by the tests (through tsx).
import { main } from './cli.js';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error('httpauth-gateway: unexpected failure', error);
    process.exitCode = 1;
  },
);
