/**
 * `phoneCallDiscardReasonMigrateConferenceCall#9fbbf1f7 slug:string` (layer 202,
 * core.telegram.org/constructor/phoneCallDiscardReasonMigrateConferenceCall): how the server ends a
 * 1:1 call that an official app turned into a conference call, with the conference link's slug.
 *
 * GramJS 2.26 speaks layer 198 and has no class for it, so the fake defines this one constructor
 * the way GramJS's generated classes look (className, ids, getBytes, static fromReader) and adds it
 * to GramJS's constructor table, so an update carrying it still goes through GramJS's own
 * serializer and parser like every other the fake sends. Adding an id GramJS does not know
 * changes nothing else; clients on a newer layer (a teleproto fork) have the real class.
 */
import { createRequire } from 'node:module';

const CONSTRUCTOR_ID = 0x9fbbf1f7;
/** The PhoneCallDiscardReason type id, as GramJS's own reason classes carry it. */
const SUBCLASS_OF_ID = 0xd89bad3d;

interface Reader {
  tgReadString(): string;
}

export class FakeMigrateConferenceCallReason {
  static readonly CONSTRUCTOR_ID = CONSTRUCTOR_ID;
  static readonly SUBCLASS_OF_ID = SUBCLASS_OF_ID;
  static readonly className = 'PhoneCallDiscardReasonMigrateConferenceCall';
  readonly CONSTRUCTOR_ID = CONSTRUCTOR_ID;
  readonly SUBCLASS_OF_ID = SUBCLASS_OF_ID;
  readonly className = 'PhoneCallDiscardReasonMigrateConferenceCall';
  readonly classType = 'constructor';

  constructor(readonly args: { readonly slug: string }) {}

  get slug(): string {
    return this.args.slug;
  }

  static fromReader(reader: Reader): FakeMigrateConferenceCallReason {
    return new FakeMigrateConferenceCallReason({ slug: reader.tgReadString() });
  }

  getBytes(): Buffer {
    const id = Buffer.alloc(4);
    id.writeUInt32LE(CONSTRUCTOR_ID >>> 0, 0);
    return Buffer.concat([id, tlString(this.args.slug)]);
  }
}

/** A TL `string`: length-prefixed bytes padded to 4 (core.telegram.org/mtproto/serialize). */
function tlString(value: string): Buffer {
  const data = Buffer.from(value, 'utf8');
  const header = data.length < 254 ? Buffer.from([data.length]) : Buffer.from([254, data.length & 0xff, (data.length >> 8) & 0xff, (data.length >> 16) & 0xff]);
  const padding = (4 - ((header.length + data.length) % 4)) % 4;
  return Buffer.concat([header, data, Buffer.alloc(padding)]);
}

let registered = false;

/** Teaches GramJS's parser the constructor (idempotent; never replaces a class GramJS has). */
export function registerMigrateReason(): void {
  if (registered) return;
  registered = true;
  const require = createRequire(import.meta.url);
  const { tlobjects } = require('telegram/tl/AllTLObjects') as { tlobjects: Record<number, unknown> };
  // BinaryReader looks classes up by the unsigned 32-bit id it reads.
  if (tlobjects[CONSTRUCTOR_ID] === undefined) tlobjects[CONSTRUCTOR_ID] = FakeMigrateConferenceCallReason;
}
