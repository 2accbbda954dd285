// Starts the Telegram Bot API emulator (npm: telegram-test-api) on 127.0.0.1:PORT for
// tamizdat's tests: `node serve.js PORT`. Prints "ready" once listening; stops on SIGTERM.
// Bots call http://127.0.0.1:PORT/bot<TOKEN>/<method>; the tests read what a bot sent with
// POST /getUpdatesHistory {token} and write as a user with POST /sendMessage.
'use strict';
const TelegramServer = require('telegram-test-api');

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port <= 0) {
  process.stderr.write('usage: node serve.js PORT\n');
  process.exit(2);
}
// storeTimeout: keep every message for the whole test session (the default forgets after 60 s).
const server = new TelegramServer({ port, host: '127.0.0.1', storeTimeout: 24 * 3600 });
server.start().then(() => {
  process.stdout.write(`ready ${server.config.apiURL}\n`);
});
const stop = () => server.stop().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
