// An async iterable a test writes into at its own pace, to hold a client stream open across
// events (a SIGTERM, a stage restart): the project's one push-to-async-iterable queue, it-pushable.
export { type Pushable, pushable } from 'it-pushable';
