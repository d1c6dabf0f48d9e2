// Where a client fetches a stored object over plain HTTP (served by
// transport/objects.ts). Results carry these in audio_paths; the URL is
// relative to the gateway's own address.
export const OBJECTS_PATH = '/v1/objects';

export function objectUrl(objectId: string): string {
  return `${OBJECTS_PATH}/${objectId}`;
}
