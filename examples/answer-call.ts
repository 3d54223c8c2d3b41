/**
 * An answering machine: picks up the next call, says a greeting, records the caller until they
 * hang up (at most 60 s), then exits.
 *
 *   npx tsx examples/answer-call.ts [greeting.wav]
 *
 * With API_ID, API_HASH and SESSION set it waits for a real call; otherwise the fake Telegram's
 * @peer calls it and talks for a few seconds.
 */
import { mkdir } from 'node:fs/promises';
import { generateTone } from '../src/fake/index.js'; // 'tgcall/fake' in your project
import { writeWavFile, type Call } from '../src/index.js';
import { openAccount } from './account.js';

const account = await openAccount({ role: 'call', speech: 'bursts', frequency: 660, seconds: 4 });
// Listen before anything else: a call that rings while nobody listens is not answered here.
const incoming = new Promise<Call>((resolve) => account.calls.once('incoming', resolve));
try {
  await mkdir('recordings', { recursive: true });
  let greeting = process.argv[2];
  if (!greeting) {
    greeting = 'recordings/greeting.wav';
    await writeWavFile(greeting, generateTone({ frequency: 523, durationMs: 1000, amplitude: 0.3 }));
  }

  console.log('waiting for a call…');
  const call = await incoming;
  console.log(`call from ${call.peerUserId}`);
  call.on('emoji', ({ emoji }) => console.log('emoji:', emoji.join(' ')));
  await call.accept(); // resolves when connected

  const file = `recordings/caller-${Date.now()}.wav`;
  const recorder = await call.record(file);
  await call.playFile(greeting);
  const limit = setTimeout(() => void call.hangup(), 60_000);
  const ended = await call.whenEnded();
  clearTimeout(limit);
  console.log(`ended: ${ended.reason} by ${ended.by}; recorded ${((await recorder.done) / 1000).toFixed(1)} s to ${file}`);
} finally {
  await account.close();
}
