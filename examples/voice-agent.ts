/**
 * The shape of an AI voice agent: answer, listen until the caller stops talking (voice activity),
 * think, reply — here the "thinking" is an echo: after each turn it plays back what it heard.
 * Replace `think()` with speech-to-text → LLM → text-to-speech.
 *
 *   npx tsx examples/voice-agent.ts
 *
 * With API_ID, API_HASH and SESSION set it answers real calls until Ctrl-C; otherwise the fake
 * Telegram's @peer calls it and talks in 1 s bursts, and the agent handles that one call.
 */
import { concatSamples } from '../src/fake/index.js'; // 'tgcall/fake' in your project
import type { AudioFrame, Call } from '../src/index.js';
import { openAccount } from './account.js';

const account = await openAccount({ role: 'call', speech: 'bursts', frequency: 440, seconds: 6 });

/** The agent's brain. Here: say back what was heard. */
async function think(heard: Int16Array): Promise<Int16Array> {
  await new Promise((resolve) => setTimeout(resolve, 200)); // "thinking"
  return heard;
}

async function converse(call: Call): Promise<void> {
  await call.accept();
  console.log('connected; emoji', call.emoji?.emoji.join(' '));
  let turn: Int16Array[] = [];
  let turns = 0;
  for await (const frame of call.audio.frames() as AsyncIterable<AudioFrame>) {
    if (frame.voice) {
      turn.push(frame.pcm);
      continue;
    }
    if (turn.length < 10) {
      turn = []; // under 200 ms of voice: a click, not a turn
      continue;
    }
    const heard = concatSamples(turn);
    turn = [];
    turns += 1;
    console.log(`turn ${turns}: heard ${(heard.length / 48).toFixed(0)} ms of speech, replying`);
    const reply = await think(heard);
    void call.audio.play([reply]);
  }
  console.log(`call ended after ${turns} turns:`, call.ended?.reason);
}


try {
  const calls = account.fake ? 1 : Infinity;
  const stop = new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
  for (let handled = 0; handled < calls; handled += 1) {
    console.log('waiting for a call…');
    const call = await Promise.race([new Promise<Call>((resolve) => account.calls.once('incoming', resolve)), stop]);
    if (!call) break;
    await converse(call).catch((err: Error) => console.log('call failed:', err.message));
  }
} finally {
  process.removeAllListeners('SIGINT');
  await account.close();
}
