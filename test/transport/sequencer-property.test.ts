/**
 * Property test of the v2 ordering rules: a caller and a callee `TransportSequencer`, each behind a
 * scripted peer connection, talk through a seeded network that loses, duplicates and reorders
 * their signaling (and sometimes delivers garbage). Whatever the schedule, the invariants hold;
 * when nothing is lost for good (a lost or mangled message is resent later, as the acked signaling
 * channel does), the call also completes in any order of arrival: both descriptions applied, both
 * directions negotiated, every candidate added, the last MediaState delivered.
 */
import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../src/fake/seeded-random.js';
import { signalingMessageToJson } from '../../src/transport/messages.js';
import type { TransportSequencer } from '../../src/transport/transport-sequencer.js';
import type { TransportOutput } from '../../src/transport/transport-types.js';
import { CALLEE_ANSWER, CALLER_OFFER, hostCandidate, sequencer } from './sequencer-harness.js';

interface Faults {
  readonly loss: number;
  readonly duplication: number;
  /** Any message may overtake any other, NegotiateChannels included. */
  readonly reorder: boolean;
  readonly garbage: number;
  /** A lost or mangled message is sent again later (by the next time step): nothing is lost for good. */
  readonly resend: boolean;
}

/** The invariants are checked on every output: a plain throw keeps 90 000 steps in well under a second. */
function check(condition: boolean, rule: string): void {
  if (!condition) throw new Error(`broken: ${rule}`);
}

class Side {
  readonly s: TransportSequencer;
  /** Signaling from the peer, not delivered yet. */
  inbox: string[] = [];
  /** Signaling from the peer that was lost or mangled, sent again at the next time step (`resend`). */
  resends: string[] = [];
  peer!: Side;
  setupSent = false;
  applyCount = 0;
  applied = false;
  hasLocalDescription = false;
  gathered = 0;
  candidatesSent = 0;
  candidatesDelivered = 0;
  connectedSeen = false;
  pcConnected = false;
  dataChannelOpen = false;
  closeSeen = false;
  muted = false;
  version = 0;
  deliveries = new Map<number, number>();
  openings = new Map<number, number>();
  errors: Error[] = [];

  constructor(
    readonly isOutgoing: boolean,
    private readonly rng: SeededRandom,
    private readonly faults: Faults,
    /** Caller only: the libdatachannel data channel race (reports open, refuses every send). */
    readonly brokenDataChannel: boolean,
  ) {
    this.s = sequencer(isOutgoing, { connectTimeoutMs: 10_000, dataChannelGraceMs: 500 });
  }

  /** Performs every pending output like CallTransport does, checking the invariants on the way. */
  pump(): void {
    for (let out = this.s.takeOutput(); out; out = this.s.takeOutput()) {
      // Nothing comes out after `close`.
      check(!this.closeSeen, 'nothing after close');
      this.perform(out);
    }
  }

  private perform(out: TransportOutput): void {
    switch (out.type) {
      case 'send': {
        const m = out.message;
        if (m.type === 'InitialSetup') {
          check(!this.setupSent, 'one InitialSetup');
          this.setupSent = true;
        }
        // Our InitialSetup precedes our NegotiateChannels on the wire.
        if (m.type === 'NegotiateChannels') check(this.setupSent, 'InitialSetup first');
        if (m.type === 'Candidates') {
          // The caller holds its candidates until its remote description is applied.
          if (this.isOutgoing) check(this.applied, 'caller candidates after apply');
          this.candidatesSent += m.candidates.length;
        }
        if (m.type === 'MediaState') this.delivered(m.muted);
        this.transmit(signalingMessageToJson(m));
        return;
      }
      case 'send-data': {
        check(this.dataChannelOpen, 'data only on an open channel');
        const ok = !this.brokenDataChannel;
        if (ok) {
          this.delivered(out.message.muted);
          this.peer.s.dataChannelMessage(signalingMessageToJson(out.message));
        }
        this.s.dataChannelSent(ok);
        return;
      }
      case 'create-offer':
        check(this.isOutgoing, 'only the caller creates an offer');
        this.hasLocalDescription = true;
        this.s.localDescriptionCreated(CALLER_OFFER);
        return;
      case 'apply-remote-description':
        // Applied at most once, of the right kind, with the verified a=setup.
        check(this.applyCount++ === 0, 'one remote description');
        check(out.sdpType === (this.isOutgoing ? 'answer' : 'offer'), 'remote answer on the caller, offer on the callee');
        check(out.description.setup === (this.isOutgoing ? 'passive' : 'active'), 'a=setup passive on the caller, active on the callee');
        this.applied = true;
        if (this.isOutgoing) {
          this.s.remoteAnswerApplied();
        } else {
          this.hasLocalDescription = true;
          this.s.remoteOfferApplied(CALLEE_ANSWER);
        }
        return;
      case 'add-remote-candidate':
        // No candidate reaches the ICE agent before the remote description.
        check(this.applied, 'no candidate before the remote description');
        this.s.remoteCandidateAdded(true);
        return;
      case 'connected':
        check(!this.connectedSeen, 'connected once');
        this.connectedSeen = true;
        return;
      case 'error':
        this.errors.push(out.error);
        return;
      case 'close':
        this.closeSeen = true;
        return;
      default:
        return;
    }
  }

  /** A MediaState went out: before it, the transport connected; it is the current one; per change, once (plus a resend per channel opening). */
  private delivered(muted: boolean): void {
    check(this.connectedSeen, 'MediaState after connected');
    check(muted === this.muted, 'MediaState is the current one');
    const n = (this.deliveries.get(this.version) ?? 0) + 1;
    this.deliveries.set(this.version, n);
    check(n <= 1 + (this.openings.get(this.version) ?? 0), 'MediaState once per change');
  }

  private transmit(json: string): void {
    if (this.rng.next() < this.faults.loss) {
      if (this.faults.resend) this.peer.resends.push(json);
      return;
    }
    this.peer.inbox.push(json);
    if (this.rng.next() < this.faults.duplication) this.peer.inbox.push(json);
  }

  /** Delivers one message from the inbox (any of them when reordering). */
  deliverOne(): void {
    if (this.inbox.length === 0) return;
    const i = this.faults.reorder ? Math.floor(this.rng.next() * this.inbox.length) : 0;
    let [json] = this.inbox.splice(i, 1);
    if (this.rng.next() < this.faults.garbage) {
      if (this.faults.resend) this.resends.push(json!);
      json = json!.slice(0, Math.floor(this.rng.next() * json!.length));
    } else if (json!.includes('"@type":"Candidates"')) this.candidatesDelivered += (JSON.parse(json!) as { candidates: unknown[] }).candidates.length;
    this.s.receive(json!);
  }

  /** The resend timer: what was lost goes out again (and may be lost again). */
  resendLost(): void {
    const lost = this.resends.splice(0);
    for (const json of lost) this.peer.transmit(json);
  }

  gather(): void {
    if (!this.hasLocalDescription || this.gathered >= 3) return;
    this.gathered++;
    this.s.localCandidate(hostCandidate((this.isOutgoing ? 6000 : 7000) + this.gathered));
  }

  toggleMute(): void {
    this.muted = !this.muted;
    this.version++;
    this.s.setMediaState({ muted: this.muted });
  }

  openDataChannel(): void {
    if (!this.pcConnected || this.dataChannelOpen) return;
    this.dataChannelOpen = true;
    this.openings.set(this.version, (this.openings.get(this.version) ?? 0) + 1);
    this.s.dataChannelOpened();
  }
}

function run(seed: number, faults: Faults) {
  const rng = new SeededRandom(seed);
  const caller = new Side(true, rng, faults, rng.next() < 0.3);
  const callee = new Side(false, rng, faults, false);
  caller.peer = callee;
  callee.peer = caller;
  const sides = [caller, callee];
  let now = 0;
  for (const side of sides) {
    side.s.start(now);
    side.s.peerConnectionCreated(now);
    side.pump();
  }
  const step = (side: Side, action: number): void => {
    if (action < 0.45) side.deliverOne();
    else if (action < 0.6) side.gather();
    else if (action < 0.7) side.toggleMute();
    else if (action < 0.8) {
      // ICE connects once both sides have their descriptions.
      if (caller.applied && callee.applied && !side.pcConnected) {
        side.pcConnected = true;
        side.s.peerConnectionState('connected', now);
      }
    } else if (action < 0.85) side.openDataChannel();
    else if (action < 0.88 && side.pcConnected) {
      // A short loss of connectivity.
      side.s.peerConnectionState('disconnected', now);
      side.s.peerConnectionState('connected', now + 1);
    } else {
      now += Math.floor(rng.next() * 40);
      side.resendLost();
      const at = side.s.nextDeadline();
      if (at !== undefined && at <= now) side.s.tick(now);
    }
    side.pump();
    side.peer.pump();
  };
  for (let i = 0; i < 300; i++) step(sides[Math.floor(rng.next() * 2)]!, rng.next());
  return { caller, callee, settle: () => settle(caller, callee, () => (now += 600)) };
}

/** Delivers everything, connects, opens the channels and lets the grace end. */
function settle(caller: Side, callee: Side, later: () => number): void {
  const pending = (side: Side) => side.inbox.length + side.resends.length > 0;
  for (let guard = 0; guard < 1_000 && (pending(caller) || pending(callee)); guard++) {
    for (const side of [caller, callee]) {
      if (side.inbox.length === 0) side.resendLost();
      side.deliverOne();
      side.pump();
      side.peer.pump();
    }
  }
  const now = later();
  for (const side of [caller, callee]) {
    if (!side.pcConnected) {
      side.pcConnected = true;
      side.s.peerConnectionState('connected', now);
    }
    side.openDataChannel();
    side.s.tick(later());
    side.pump();
    side.peer.pump();
  }
}

describe('TransportSequencer property: a lossy, duplicating, reordering signaling path', () => {
  it('never breaks an ordering rule, never throws, and reports no internal error', () => {
    const faults: Faults = { loss: 0.15, duplication: 0.2, reorder: true, garbage: 0.05, resend: false };
    for (let seed = 1; seed <= 100; seed++) {
      const { caller, callee } = run(seed, faults);
      for (const side of [caller, callee]) {
        expect(side.errors, `seed ${seed}`).toEqual([]);
        expect(side.applyCount).toBeLessThanOrEqual(1);
      }
    }
  });

  it('when nothing is lost for good, any loss-and-resend, duplication and order of arrival completes the call, both directions negotiated', () => {
    for (let seed = 1; seed <= 200; seed++) {
      // Every NegotiateChannels may overtake any other, so a callee offer may reach the caller
      // before the callee's answer to the caller's offer (transport-sequencer.test.ts).
      const lossy = seed % 2 === 0;
      const faults: Faults = { loss: lossy ? 0.2 : 0, duplication: seed % 3 === 0 ? 0 : 0.3, reorder: seed % 5 !== 0, garbage: lossy ? 0.05 : 0, resend: true };
      const { caller, callee, settle: finish } = run(seed, faults);
      finish();
      for (const side of [caller, callee]) {
        const at = `seed ${seed}, ${side.isOutgoing ? 'caller' : 'callee'}`;
        expect(side.s.state, at).toBe('connected');
        expect(side.applied, at).toBe(true);
        expect(side.s.canSendMedia, at).toBe(true);
        expect(side.s.mediaParams.remote?.ssrc, at).toBe(side.isOutgoing ? 2222 : 1111);
        // Every candidate either side gathered went out, and every one delivered was added.
        expect(side.candidatesSent, at).toBe(side.gathered);
        expect(side.s.stats.remoteCandidatesAdded, at).toBe(side.candidatesDelivered);
        // The last MediaState went out.
        expect(side.deliveries.get(side.version) ?? 0, at).toBeGreaterThanOrEqual(1);
      }
    }
  });
});
