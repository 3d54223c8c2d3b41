/**
 * ICE candidates wait for the remote description, both ways (transport-v2.md §3, §5). Sans-I/O:
 * candidates are plain `candidate:…` strings (SDP attribute values without `a=`), whatever
 * gathers ours and whatever consumes the peer's.
 *
 * - The peer's: ntgcalls sends its candidates before its InitialSetup, and libdatachannel throws
 *   on (and loses) a candidate added before `setRemoteDescription`. They are buffered, bounded,
 *   until the gate opens. Only what the consumer can take passes: by default what libdatachannel
 *   takes (`classifyRemoteCandidate`: UDP, component 1, a literal IP — not Telegram reflector
 *   hostnames, which a tgcall socket layer in front of libjuice would want).
 * - Ours, on the caller: held until the gate opens, to dodge a libdatachannel race. Its
 *   PeerConnection::setRemoteDescription (0.24.5, still in its master) hands the description to
 *   ICE before storing it. If the peer already reached us with its checks (it can once it has our
 *   candidates), ICE connects at once, DTLS runs on another thread and the fingerprint check finds
 *   no remote description: "certificate verify failed", call lost (reproduced on loopback when
 *   the peer's InitialSetup comes after its checks). The callee gathers only after its remote
 *   description; our own checks (the caller is ICE controlling) still find the peer without them.
 */
import { classifyRemoteCandidate, type CandidateVerdict } from './sdp.js';

/** Peer candidates buffered before the gate opens, and our own held ones. */
export const MAX_BUFFERED_CANDIDATES = 64;

export interface CandidateGateStats {
  localCandidates: number;
  remoteCandidatesAdded: number;
  /** Malformed, unsupported (TCP, hostnames such as Telegram reflectors, component 2), refused or overflowing. */
  remoteCandidatesDropped: number;
}

export class CandidateGate {
  readonly stats: CandidateGateStats = { localCandidates: 0, remoteCandidatesAdded: 0, remoteCandidatesDropped: 0 };
  private readonly holdLocal: boolean;
  private readonly verdict: (candidate: string) => CandidateVerdict;
  private isOpen = false;
  private peers: string[] = [];
  private ours: string[] = [];
  /** Peer candidates handed out whose `added` answer is still due. */
  private adding = 0;

  /** `holdLocal`: the caller holds its own candidates until the gate opens. */
  constructor(holdLocal: boolean, verdict: (candidate: string) => CandidateVerdict = classifyRemoteCandidate) {
    this.holdLocal = holdLocal;
    this.verdict = verdict;
  }

  get opened(): boolean {
    return this.isOpen;
  }

  /** One of ours: returned when it may go to the peer now. */
  local(candidate: string): string | undefined {
    this.stats.localCandidates++;
    if (this.isOpen || !this.holdLocal) return candidate;
    // Beyond the bound they are dropped: the caller's own checks still find the peer.
    if (this.ours.length < MAX_BUFFERED_CANDIDATES) this.ours.push(candidate);
    return undefined;
  }

  /** The peer's: returns those to add now; `dropped` hears why one was not kept. */
  remote(candidates: readonly string[], dropped: (verdict: string) => void): string[] {
    const now: string[] = [];
    for (const candidate of candidates) {
      const verdict = this.verdict(candidate);
      if (verdict !== 'ok') {
        this.stats.remoteCandidatesDropped++;
        dropped(verdict);
      } else if (this.isOpen) {
        now.push(candidate);
      } else if (this.peers.length < MAX_BUFFERED_CANDIDATES) {
        this.peers.push(candidate);
      } else {
        this.stats.remoteCandidatesDropped++;
      }
    }
    this.adding += now.length;
    return now;
  }

  /** The remote description is applied: ours to send and the peer's to add, in arrival order. */
  open(): { readonly send: string[]; readonly add: string[] } {
    if (this.isOpen) return { send: [], add: [] };
    this.isOpen = true;
    const out = { send: this.ours, add: this.peers };
    this.ours = [];
    this.peers = [];
    this.adding += out.add.length;
    return out;
  }

  /** The answer for one peer candidate handed out: false when the ICE agent refused it. */
  added(ok: boolean): void {
    if (this.adding === 0) return;
    this.adding--;
    if (ok) this.stats.remoteCandidatesAdded++;
    else this.stats.remoteCandidatesDropped++;
  }

  /** Forgets everything held (close). */
  clear(): void {
    this.ours = [];
    this.peers = [];
  }
}
