import { describe, expect, it } from 'vitest';
import { abandonNativeObject } from '../../src/transport/orphaned-handles.js';

describe('abandoned native objects', () => {
  it('are released once collected, with a collection requested by the module itself', async () => {
    let released = 0;
    (() => {
      // nothing keeps these objects: only the collector can take them
      for (let i = 0; i < 3; i++) abandonNativeObject({ wrapper: new Uint8Array(1024) }, () => (released += 1));
    })();
    const deadline = Date.now() + 5_000;
    while (released < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(released).toBe(3);
  });

  it('are not released while still referenced', async () => {
    let released = false;
    const kept = { wrapper: true };
    abandonNativeObject(kept, () => (released = true));
    await new Promise((r) => setTimeout(r, 200));
    expect(released).toBe(false);
    expect(kept.wrapper).toBe(true);
  });
});
