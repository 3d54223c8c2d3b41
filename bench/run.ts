/** `npm run bench`: every benchmark in turn. Each prints its own table. */
const benches = ['./dh.js', './signaling-hostile.js', './stun.js', './edge.js', './dgram.js', './media.js', './setup.js', './call.js', './codec-workers.js'];

for (const path of benches) {
  const module = (await import(path)) as { default: () => Promise<void> };
  await module.default();
}
