/**
 * Places a call, shows the emoji, says a WAV file (or a tone), records the answer, hangs up.
 *
 *   npx tsx examples/place-call.ts [@user] [say.wav]
 *
 * With API_ID, API_HASH and SESSION set it calls a real user (TARGET or the first argument);
 * otherwise it calls the fake Telegram's @peer, who answers and says 880 Hz.
 */
import { mkdir } from 'node:fs/promises';
import { generateTone } from '../src/fake/index.js'; // 'tgcall/fake' in your project
import { writeWavFile } from '../src/index.js';
import { openAccount } from './account.js';

const account = await openAccount({ role: 'answer', frequency: 880, seconds: 10 });
try {
  const target = process.argv[2] ?? process.env.TARGET ?? account.fakePeer;
  if (!target) throw new Error('who should I call? npx tsx examples/place-call.ts @username');
  let say = process.argv[3];
  if (!say) {
    // no file given: make one, a 2 s 440 Hz beep
    await mkdir('recordings', { recursive: true });
    say = 'recordings/beep.wav';
    await writeWavFile(say, generateTone({ frequency: 440, durationMs: 2000, amplitude: 0.3 }));
  }

  console.log(`calling ${target}…`);
  const call = await account.calls.call(/^\d+$/.test(target) ? BigInt(target) : target);
  call.on('state', (state) => console.log('state:', state));
  call.on('emoji', ({ emoji }) => console.log('compare these with the other phone:', emoji.join(' ')));
  call.on('remoteMediaState', (state) => console.log('the other side:', state.muted ? 'muted' : 'unmuted'));

  await call.whenConnected();
  await mkdir('recordings', { recursive: true });
  const recorder = await call.record('recordings/answer.wav');
  await call.playFile(say);
  // playFile resolves when the audio is queued; let it play out and hear the reply
  await new Promise((resolve) => setTimeout(resolve, 3000));
  const ended = await call.hangup();
  console.log(`ended: ${ended.reason} after ${ended.duration} s; recorded ${((await recorder.done) / 1000).toFixed(1)} s to recordings/answer.wav`);
} finally {
  await account.close();
}
