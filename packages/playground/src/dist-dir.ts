// Where the built playground lives; the gateway serves this directory at `/`.
export const PLAYGROUND_DIR = new URL('../dist/', import.meta.url).pathname;
