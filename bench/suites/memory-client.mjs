// The memory benchmark's client: opens N keep-alive sockets to the server and, on each, sends one
// request and reads its 401. Mode `type1` sends an NTLM NEGOTIATE, so every socket parks a
// pending handshake after the CHALLENGE; mode `plain` sends no credentials (the socket alone).
// Then it reports over IPC, waits for 'close', closes every socket and reports again.
import { connect } from 'node:net';

const [port, countText, mode, type1] = process.argv.slice(2);
const count = Number(countText);
const sockets = [];
let answered = 0;
let wrong = 0;
const request =
  `GET /api HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n` +
  (mode === 'type1' ? `Authorization: NTLM ${type1}\r\n` : '') +
  '\r\n';

function open(i) {
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1');
    let head = '';
    socket.setEncoding('latin1');
    socket.on('error', reject);
    socket.once('connect', () => socket.write(request));
    socket.on('data', function onData(chunk) {
      head += chunk;
      if (!head.includes('\r\n\r\n')) return;
      socket.removeListener('data', onData);
      const ok =
        head.startsWith('HTTP/1.1 401') &&
        (mode !== 'type1' || /www-authenticate: NTLM \S+/i.test(head));
      if (!ok) wrong++;
      answered++;
      sockets[i] = socket;
      resolve();
    });
  });
}

// A bounded number of connects in flight, so the listen backlog never overflows.
let next = 0;
async function lane() {
  while (next < count) await open(next++);
}
await Promise.all(Array.from({ length: 200 }, lane));
process.send({ parked: answered, wrong });
process.on('message', (message) => {
  if (message !== 'close') return;
  let open = sockets.length;
  for (const socket of sockets) {
    socket.once('close', () => {
      if (--open === 0) {
        process.send({ closed: true });
        process.exit(0);
      }
    });
    socket.destroy();
  }
});
