/**
 * Which of the peer's candidates none of our paths can reach, and why, so a call that cannot
 * connect says so instead of only "connect timeout" (issue 12, the mixed case).
 *
 * The case it exists for: each side's phoneCall carries its own `connections` (core.telegram.org:
 * "endpoints the user can connect to"), so one side may get only TURN entries and the other only
 * a reflector. Official apps cannot connect then either:
 * - a reflector candidate (`reflector-<serverId>-<id>.reflector`) pairs only with a ReflectorPort
 *   of the same server id (tgcalls `ReflectorPort::CreateConnection`, reflector.md §5.2), and the
 *   reflector forwards only packets that carry the call's peer tag (reflector.md §3.5) — a TURN
 *   allocation cannot reach it;
 * - with p2p off the reflector-only side has no host socket (`PORTALLOCATOR_DISABLE_UDP`,
 *   reflector.md §6), and a ReflectorPort never pairs with an IP candidate, so the peer's TURN
 *   relay candidate is out of reach;
 * - tgcalls then just reports failure after 20 s without a connection
 *   (`NativeNetworkingImpl::checkConnectionTimeout`), and the apps end the call as failed
 *   (official-clients.md §5).
 * tgcall ends at its connect timeout too, with this explanation and the `NO_COMMON_RELAY` code.
 */
import type { IceCandidate } from './ice-candidate.js';
import { parseReflectorHostname } from './reflector-codec.js';

/** One of our relays, as the explanation names it. */
export interface ReachRelay {
  readonly kind: 'turn' | 'reflector';
  /** `ip:port` */
  readonly server: string;
  /** Reflectors: the server id both ends number it with (reflector-servers.ts). */
  readonly serverId?: number;
}

/** Bound on the distinct kinds kept (a hostile peer cannot grow the table). */
const MAX_KINDS = 32;

export class PeerReach {
  /** Peer candidates no path of ours reached, by kind: `reflector <serverId>` or the ICE type. */
  readonly unreachable: Record<string, number> = {};
  private reached = 0;

  /** One usable peer candidate, and how many routes (new or existing) our paths have to it. */
  note(candidate: IceCandidate, routes: number): void {
    if (routes > 0) {
      this.reached++;
      return;
    }
    const reflector = parseReflectorHostname(candidate.address);
    const kind = reflector ? `reflector ${reflector.serverId}` : candidate.type;
    if (this.unreachable[kind] === undefined && Object.keys(this.unreachable).length >= MAX_KINDS) return;
    this.unreachable[kind] = (this.unreachable[kind] ?? 0) + 1;
  }

  /**
   * Why we cannot reach the peer, when that is the whole story: the peer signalled candidates,
   * none of them is reachable through any path of ours, and no route exists at all (`routes`, the
   * learned ones included). Undefined otherwise.
   */
  explain(routes: number, allowDirect: boolean, relays: readonly ReachRelay[]): string | undefined {
    const kinds = Object.entries(this.unreachable);
    if (routes > 0 || this.reached > 0 || kinds.length === 0) return undefined;
    const ours = relays.length > 0 ? relays.map((r) => `${r.kind} ${r.server}${r.serverId === undefined ? '' : ` (server ${r.serverId})`}`).join(', ') : 'none';
    const reasons: string[] = [];
    for (const [kind, count] of kinds) {
      const many = count === 1 ? 'candidate' : 'candidates';
      if (kind.startsWith('reflector ')) {
        reasons.push(`${count} reflector ${many} for reflector server ${kind.slice(10)}, reachable only through that reflector with the call's peer tag, which this side was not given`);
      } else {
        const need = allowDirect ? 'none of our sockets or relays can reach' : 'only a TURN relay of ours could reach with p2p not allowed';
        reasons.push(`${count} ${kind} ${many}, which ${need}`);
      }
    }
    return `the peer offered ${reasons.join('; ')} (our relays: ${ours})`;
  }
}
