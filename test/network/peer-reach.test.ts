import { describe, expect, it } from 'vitest';
import { parseIceCandidate } from '../../src/network/ice-candidate.js';
import { PeerReach } from '../../src/network/peer-reach.js';

const reflectorLine = 'candidate:1 1 udp 58655488 reflector-1-411335037.reflector 5555 typ relay generation 0';
const relayLine = 'candidate:2 1 udp 16777215 91.108.9.1 40000 typ relay raddr 0.0.0.0 rport 0';
const candidate = (line: string) => parseIceCandidate(line)!;
const turn = { kind: 'turn' as const, server: '91.108.9.9:3478' };
const reflector = { kind: 'reflector' as const, server: '91.108.8.1:598', serverId: 1 };

describe('PeerReach: why the peer is out of reach', () => {
  it('a reflector candidate and only TURN on our side: names the reflector server, the peer tag and our relays', () => {
    const reach = new PeerReach();
    reach.note(candidate(reflectorLine), 0);
    expect(reach.unreachable).toEqual({ 'reflector 1': 1 });
    expect(reach.explain(0, false, [turn])).toBe(
      "the peer offered 1 reflector candidate for reflector server 1, reachable only through that reflector with the call's peer tag, which this side was not given (our relays: turn 91.108.9.9:3478)",
    );
  });

  it('a TURN relay candidate and only a reflector on our side, p2p off: says a TURN relay of ours is needed', () => {
    const reach = new PeerReach();
    reach.note(candidate(relayLine), 0);
    reach.note(candidate(relayLine.replace('40000', '40002')), 0);
    expect(reach.explain(0, false, [reflector])).toBe(
      'the peer offered 2 relay candidates, which only a TURN relay of ours could reach with p2p not allowed (our relays: reflector 91.108.8.1:598 (server 1))',
    );
    expect(reach.explain(0, true, [])).toMatch(/2 relay candidates, which none of our sockets or relays can reach \(our relays: none\)/);
  });

  it('says nothing while any route exists, any candidate was reached, or nothing was signalled', () => {
    const reach = new PeerReach();
    expect(reach.explain(0, false, [turn])).toBeUndefined();
    reach.note(candidate(reflectorLine), 0);
    expect(reach.explain(1, false, [turn])).toBeUndefined(); // a learned (prflx) route
    reach.note(candidate(relayLine), 1);
    expect(reach.explain(0, false, [turn])).toBeUndefined();
  });

  it('keeps a bounded table whatever the peer sends', () => {
    const reach = new PeerReach();
    for (let server = 1; server <= 200; server++) reach.note(candidate(reflectorLine.replace('reflector-1-', `reflector-${server}-`)), 0);
    expect(Object.keys(reach.unreachable)).toHaveLength(32);
  });
});
