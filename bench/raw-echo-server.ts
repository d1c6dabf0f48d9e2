// A plain TCP echo server in its own process: the raw-socket baseline of the
// tensor-stream benchmark. Prints its port, then echoes every byte back.
import net from 'node:net';

const server = net.createServer((socket) => socket.pipe(socket));
server.listen(0, '127.0.0.1', () => {
  console.log(JSON.stringify({ port: (server.address() as net.AddressInfo).port }));
});
process.once('SIGTERM', () => process.exit(0));
