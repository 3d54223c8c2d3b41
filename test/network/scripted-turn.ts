/**
 * A scripted TURN server for the client's unit tests: the test reads each request the client sends
 * and answers it with exactly the response it wants (challenge, stale nonce, success, error, signed
 * or not), on a virtual clock.
 */
import { SeededRandom } from '../../src/fake/seeded-random.js';
import type { CoreStep, Datagram } from '../../src/network/datagram.js';
import type { Endpoint } from '../../src/network/endpoint.js';
import {
  StunAttr,
  StunMethod,
  attributeValue,
  buildStun,
  decodeText,
  encodeAddress,
  encodeErrorCode,
  encodeText,
  encodeU32,
  longTermKey,
  parseStun,
  type StunAttributeInit,
  type StunMessage,
} from '../../src/network/stun.js';
import { TurnClient, type TurnClientOptions, type TurnEvent } from '../../src/network/turn-client.js';

export const SERVER: Endpoint = { address: '198.51.100.20', port: 3478 };
export const RELAYED: Endpoint = { address: '198.51.100.20', port: 50000 };
export const MAPPED: Endpoint = { address: '203.0.113.1', port: 40000 };
export const USER = 'tg-user';
export const PASS = 'tg:pass/word';
export const REALM = 'telegram.org';

export function newClient(options: Partial<TurnClientOptions> = {}, seed = 3): TurnClient {
  const random = new SeededRandom(seed);
  return new TurnClient({ server: SERVER, username: USER, password: PASS, random: (n) => random.bytes(n), ...options });
}

export function parse(data: Uint8Array): StunMessage {
  const m = parseStun(data);
  if (!m.ok) throw new Error(`not STUN: ${m.reason}`);
  return m;
}

/** The one request in a step (throws when there is not exactly one STUN request). */
export function onlyRequest(step: CoreStep<TurnEvent>): StunMessage {
  const requests = step.send.map((d) => parseStun(d.data)).filter((m): m is StunMessage => m.ok && m.cls === 'request');
  if (requests.length !== 1) throw new Error(`expected one request, got ${requests.length}`);
  return requests[0]!;
}

export function requests(datagrams: readonly Datagram[]): StunMessage[] {
  return datagrams.map((d) => parseStun(d.data)).filter((m): m is StunMessage => m.ok && m.cls === 'request');
}

export function text(m: StunMessage, type: number): string | undefined {
  const v = attributeValue(m, type);
  return v && decodeText(v);
}

export class ScriptedTurn {
  nonce = 'nonce-1';
  readonly key = longTermKey(USER, REALM, PASS);

  reply(req: StunMessage, cls: 'success' | 'error', attributes: StunAttributeInit[], signed: boolean | Uint8Array = true): Uint8Array {
    const key = signed === true ? this.key : signed === false ? undefined : signed;
    return buildStun({ method: req.method, cls, transactionId: req.transactionId, attributes, ...(key ? { integrityKey: key } : {}), fingerprint: true });
  }

  challenge(req: StunMessage): Uint8Array {
    return this.reply(req, 'error', [errorCode(401, 'Unauthorized'), textAttr(StunAttr.REALM, REALM), textAttr(StunAttr.NONCE, this.nonce)], false);
  }

  stale(req: StunMessage, nonce: string): Uint8Array {
    this.nonce = nonce;
    return this.reply(req, 'error', [errorCode(438, 'Stale Nonce'), textAttr(StunAttr.REALM, REALM), textAttr(StunAttr.NONCE, nonce)], false);
  }

  error(req: StunMessage, code: number, reason: string, signed = true): Uint8Array {
    return this.reply(req, 'error', [errorCode(code, reason)], signed);
  }

  allocated(req: StunMessage, lifetimeSec = 600, relayed = RELAYED, mapped: Endpoint | undefined = MAPPED): Uint8Array {
    const attributes: StunAttributeInit[] = [{ type: StunAttr.XOR_RELAYED_ADDRESS, value: encodeAddress(relayed, req.transactionId) }];
    if (mapped) attributes.push({ type: StunAttr.XOR_MAPPED_ADDRESS, value: encodeAddress(mapped, req.transactionId) });
    attributes.push({ type: StunAttr.LIFETIME, value: encodeU32(lifetimeSec) });
    return this.reply(req, 'success', attributes);
  }

  ok(req: StunMessage, attributes: StunAttributeInit[] = []): Uint8Array {
    return this.reply(req, 'success', attributes);
  }

  dataIndication(peer: Endpoint, payload: Uint8Array): Uint8Array {
    const id = new Uint8Array(12).fill(0x5a);
    return buildStun({
      method: StunMethod.DATA,
      cls: 'indication',
      transactionId: id,
      attributes: [
        { type: StunAttr.XOR_PEER_ADDRESS, value: encodeAddress(peer, id) },
        { type: StunAttr.DATA, value: payload },
      ],
    });
  }

  /** Runs the full Allocate exchange; returns the client in state `allocated`. */
  allocate(client: TurnClient, now = 0, lifetimeSec = 600): TurnClient {
    const first = onlyRequest(client.start(now));
    const second = onlyRequest(client.receive(this.challenge(first), client.server, now + 1));
    const relayed = client.family === 6 ? { address: '2001:db8::20', port: 50000 } : RELAYED;
    client.receive(this.allocated(second, lifetimeSec, relayed), client.server, now + 2);
    if (client.state !== 'allocated') throw new Error(`allocation failed: ${client.state}`);
    return client;
  }
}

export function errorCode(code: number, reason: string): StunAttributeInit {
  return { type: StunAttr.ERROR_CODE, value: encodeErrorCode(code, reason) };
}

export function textAttr(type: number, value: string): StunAttributeInit {
  return { type, value: encodeText(value) };
}

export function channelData(channel: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + payload.length);
  out[0] = channel >> 8;
  out[1] = channel & 0xff;
  out[2] = payload.length >> 8;
  out[3] = payload.length & 0xff;
  out.set(payload, 4);
  return out;
}
