// The DNS baseline: a bare dgram server that answers each datagram with itself, QR bit set. No
// decoding, no look-up: the cost of the socket round trip alone.
import { createSocket } from 'node:dgram';

const socket = createSocket('udp4');
socket.on('message', (message, remote) => {
  if (message.length >= 4) message[2] |= 0x80;
  socket.send(message, remote.port, remote.address);
});
socket.bind(0, '127.0.0.1', () => process.stdout.write(`bare dns listening on ${socket.address().port}\n`));
process.once('SIGTERM', () => socket.close(() => process.exit(0)));
