/**
 * Typed errors. Every error the library raises is a `TgCallError` with a stable `code`, so callers
 * can branch on `err.code` instead of parsing messages. Each class has its own union of codes,
 * and `TgCallErrorCode` is all of them: `err.code` autocompletes, and a misspelt code in
 * `new CryptoError('…')` does not compile.
 *
 * One part is open by nature: when Telegram refuses a request, the RPC error type it sends
 * becomes the code of the `CallSignalingError` (`USER_PRIVACY_RESTRICTED`, …). The types the
 * library meets are listed in `TelegramRpcErrorCode`; any other one the server sends arrives
 * as-is and is typed `UnlistedRpcErrorCode`.
 */

/** Codes of `CryptoError`. */
export type CryptoErrorCode =
  /** phoneCallRequested.g_a_hash is not a SHA-256. */
  | 'BAD_G_A_HASH'
  /** A call key is not 256 bytes. */
  | 'BAD_KEY'
  /** The outgoing signaling packet counter reached 2^30: the call cannot continue. */
  | 'COUNTER_LIMIT'
  | 'DH_BAD_GENERATOR'
  | 'DH_BAD_PRIME'
  /** The server's random (or the random source) is not 256 bytes. */
  | 'DH_BAD_RANDOM'
  | 'DH_BAD_SECRET'
  /** A g_a / g_b of the wrong length or outside 2^1984 .. p − 2^1984. */
  | 'DH_BAD_VALUE'
  /** messages.dhConfigNotModified without a cached configuration. */
  | 'DH_CONFIG_MISSING'
  /** The revealed g_a does not hash to the g_a_hash of phoneCallRequested. */
  | 'DH_HASH_MISMATCH'
  | 'DH_KEYGEN_FAILED'
  | 'KEY_FINGERPRINT_MISMATCH'
  /** A signaling message does not fit in one packet (local misuse). */
  | 'MESSAGE_TOO_LARGE'
  /** The peer acknowledged none of our signaling messages for too long: the call cannot continue. */
  | 'SIGNALING_NOT_ACKED'
  /** The peer lets too many of our signaling messages wait for an ack. */
  | 'TOO_MANY_UNACKED'
  | 'UNSUPPORTED_VERSION';

/** Codes of `ProtocolError`. */
export type ProtocolErrorCode =
  /** A TL object is malformed or of an unexpected type. */
  | 'BAD_TL'
  /** The peer's InitialSetup cannot be used (ICE ufrag/pwd, DTLS fingerprint). */
  | 'REMOTE_SETUP_INVALID'
  | 'SDP_INCOMPLETE'
  | 'SDP_UNSAFE'
  /** Signaling messages that are not valid JSON v2 messages (counted and dropped). */
  | 'SIGNALING_MESSAGE_INVALID'
  | 'SIGNALING_MESSAGE_NOT_JSON'
  | 'SIGNALING_MESSAGE_NOT_OBJECT'
  | 'SIGNALING_MESSAGE_NOT_UTF8'
  | 'SIGNALING_MESSAGE_NO_TYPE'
  | 'SIGNALING_MESSAGE_TOO_LARGE';

/**
 * RPC error types of Telegram that the library meets (from the phone.* and
 * messages.getDhConfig methods, core.telegram.org), carried as `CallSignalingError` codes.
 */
export type TelegramRpcErrorCode =
  | 'CALL_ALREADY_ACCEPTED'
  | 'CALL_ALREADY_DECLINED'
  | 'CALL_PEER_INVALID'
  | 'CALL_PROTOCOL_COMPAT_LAYER_INVALID'
  | 'CALL_PROTOCOL_FLAGS_INVALID'
  | 'CALL_PROTOCOL_LAYER_INVALID'
  | 'CALL_RATING_INVALID'
  | 'INPUT_METHOD_INVALID'
  | 'RANDOM_LENGTH_INVALID'
  | 'USER_ID_INVALID'
  | 'USER_PRIVACY_RESTRICTED';

/**
 * Any other RPC error type Telegram sends (upper case, e.g. `PARTICIPANT_VERSION_OUTDATED`),
 * passed through as the code. Only `rpcFailureError` makes one; compare it with a string.
 */
export type UnlistedRpcErrorCode = string & { readonly __telegramRpcErrorType: true };

/** Codes of `CallSignalingError`. */
export type CallSignalingErrorCode =
  /** Another call is in progress (`maxConcurrentCalls`). */
  | 'ALREADY_IN_CALL'
  /** A method was called in a state where it is not valid (API misuse). */
  | 'BAD_STATE'
  /** phone.saveCallDebug got something that is not JSON (API misuse). */
  | 'BAD_DEBUG_JSON'
  /** phone.setCallRating got a rating that is not an integer 1..5 (API misuse). */
  | 'BAD_RATING'
  /** The server reported the call as phoneCallEmpty. */
  | 'CALL_EMPTY'
  /** The call ended before what was awaited (whenReady, whenConnected). */
  | 'CALL_ENDED'
  /** admin_id / participant_id / access_hash of a phoneCall do not match the call. */
  | 'CALL_FIELDS_MISMATCH'
  /** The connection (crypto channel, transport, media) could not be set up. */
  | 'CONNECTION_SETUP_FAILED'
  /** Telegram answered FLOOD_WAIT_X to a request that is not retried (or ran out of retries). */
  | 'FLOOD_WAIT'
  | 'INTERNAL_ERROR'
  /** A request did not reach Telegram (connection problem). */
  | 'NETWORK_ERROR'
  /** Signaling data before the key exchange finished. */
  | 'NOT_READY'
  | 'NOT_STARTED'
  /** The server has not assigned the call an id yet. */
  | 'NO_CALL_ID'
  | 'SAVE_CALL_DEBUG_FAILED'
  | 'SIGNALING_SEND_FAILED'
  /** The command line could not connect to Telegram. */
  | 'TELEGRAM_UNREACHABLE'
  /** An option of `TelegramCalls` / `PhoneCalls` is out of range or malformed (timeouts, maxConcurrentCalls; API misuse). */
  | 'INVALID_OPTION'
  /** The `libraryVersions` option is empty, too long or lists a version twice (API misuse). */
  | 'INVALID_LIBRARY_VERSIONS'
  /** The server chose a library version we do not support (or `libraryVersions` lists an unknown one). */
  | 'UNSUPPORTED_VERSION'
  /**
   * The server's `custom_parameters` switch on something tgcall cannot do (`network_use_mtproto`);
   * the message names the parameter. The call ends as soon as the key is agreed.
   */
  | 'UNSUPPORTED_CUSTOM_PARAMETER'
  | 'USER_NOT_RESOLVABLE'
  | TelegramRpcErrorCode
  | UnlistedRpcErrorCode;

/** Codes of `TransportError` (src/transport, the network edge src/network, the SCTP carrier src/carrier). */
export type TransportErrorCode =
  /** A media socket could not be bound (the bind address, or a reason other than a taken port). */
  | 'BIND_FAILED'
  /** ICE or DTLS failed. */
  | 'CONNECTION_FAILED'
  /** `bindAddress` is not an IP address of this host (API misuse, refused at construction). */
  | 'INVALID_BIND_ADDRESS'
  /** `portRange` is malformed, or too small for one call (API misuse, refused at construction). */
  | 'INVALID_PORT_RANGE'
  /** No connection to the peer (connect timeout, or connectivity lost and no discard came). */
  | 'CONNECTION_LOST'
  /**
   * Connect timeout, and none of the peer's candidates can be reached through any relay (or
   * socket) of ours: e.g. the peer got only a Telegram reflector and we only TURN. The message says which.
   */
  | 'NO_COMMON_RELAY'
  | 'PEER_CONNECTION_FAILED'
  /** Every port of `portRange` is taken. */
  | 'PORT_RANGE_EXHAUSTED'
  /** Signaling V3: werift gave up on the SCTP association over signaling. */
  | 'SCTP_ASSOCIATION_FAILED'
  /** Signaling V3: the SCTP association did not come up in time. */
  | 'SCTP_NOT_ESTABLISHED'
  /** Signaling V3: the installed werift-sctp does not have the shape of the pinned version. */
  | 'SCTP_UNAVAILABLE'
  /** Use of a closed transport (API misuse). */
  | 'TRANSPORT_CLOSED'
  | 'TRANSPORT_ERROR'
  /** start() called twice (API misuse). */
  | 'TRANSPORT_STARTED';

/** Codes of `MediaError`. */
export type MediaErrorCode =
  | 'MEDIA_BAD_PAYLOAD_TYPE'
  | 'MEDIA_BAD_PCM'
  | 'MEDIA_BAD_RATE'
  | 'MEDIA_BAD_SSRC'
  /** The transport refused an RTP/RTCP packet (reported once, then counted). */
  | 'MEDIA_SEND_FAILED'
  /** The frame clock's work failed (reported, the clock keeps running). */
  | 'MEDIA_TICK_FAILED'
  | 'OPUS_ABORT'
  | 'OPUS_BAD_BITRATE'
  | 'OPUS_BAD_COMPLEXITY'
  | 'OPUS_BAD_FRAME_SIZE'
  | 'OPUS_CLOSED'
  | 'OPUS_DECODE'
  | 'OPUS_DECODER_INIT'
  /** `encode()` called on an encoder that encodes in a codec worker (it takes `submit`/`take`). */
  | 'OPUS_DEFERRED'
  | 'OPUS_ENCODE'
  | 'OPUS_ENCODER_CTL'
  | 'OPUS_ENCODER_INIT'
  | 'OPUS_NO_MEMORY'
  | 'OPUS_PACKET_TOO_LARGE'
  /** Neither the native nor the WebAssembly libopus could be loaded. */
  | 'OPUS_UNAVAILABLE'
  | 'WAV_BAD_CHANNELS'
  | 'WAV_BAD_FMT'
  | 'WAV_BAD_FORMAT'
  | 'WAV_BAD_PCM'
  | 'WAV_BAD_RATE'
  | 'WAV_NOT_WAV'
  | 'WAV_NO_DATA'
  | 'WAV_NO_FMT'
  /** The path is not a regular file (a directory, a device such as /dev/zero, a FIFO), or cannot be opened. */
  | 'WAV_NOT_FILE'
  /** The file holds more audio than the limit (`playFile`'s `maxDurationMs`, default 4 h). */
  | 'WAV_TOO_LONG'
  /** The file is larger than `readWavFile` reads whole (256 MiB). */
  | 'WAV_TOO_LARGE'
  | 'WAV_UNSUPPORTED';

/** Codes of `CallTimeoutError`. */
export type CallTimeoutErrorCode =
  | 'CONNECT_TIMEOUT'
  | 'RECEIVE_TIMEOUT'
  | 'RING_TIMEOUT'
  /** start() (or call(), which starts) could not learn our user id from the client in time. */
  | 'START_TIMEOUT';

/** Every code a `TgCallError` can carry (`USAGE`: the `tgcall` command's usage errors). */
export type TgCallErrorCode =
  | CryptoErrorCode
  | ProtocolErrorCode
  | CallSignalingErrorCode
  | TransportErrorCode
  | MediaErrorCode
  | CallTimeoutErrorCode
  | 'USAGE';

export class TgCallError extends Error {
  readonly code: TgCallErrorCode;

  constructor(code: TgCallErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** Bad DH parameters or values, key/fingerprint mismatches, malformed encrypted packets. */
export class CryptoError extends TgCallError {
  declare readonly code: CryptoErrorCode;

  constructor(code: CryptoErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** Malformed or unexpected protocol data (TL fields, JSON signaling messages, packets). */
export class ProtocolError extends TgCallError {
  declare readonly code: ProtocolErrorCode;

  constructor(code: ProtocolErrorCode, message: string, options?: { cause?: unknown });
  /**
   * @deprecated Transitional: `src/transport/messages.ts` still passes its codes through an
   * untyped `error(code: string, …)` helper (always a `SIGNALING_MESSAGE_*` literal). Goes when
   * the transport rework types that helper.
   */
  constructor(code: string, message: string, options?: { cause?: unknown });
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(code as ProtocolErrorCode, message, options);
  }
}

/** Failures of the call lifecycle over MTProto (RPC errors, wrong state, unknown call). */
export class CallSignalingError extends TgCallError {
  declare readonly code: CallSignalingErrorCode;

  constructor(code: CallSignalingErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** Peer connection failures (ICE, DTLS, data channel). */
export class TransportError extends TgCallError {
  declare readonly code: TransportErrorCode;

  constructor(code: TransportErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** Audio codec, RTP and file failures. */
export class MediaError extends TgCallError {
  declare readonly code: MediaErrorCode;

  constructor(code: MediaErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** A deadline passed (ring timeout, connect timeout, receive timeout). */
export class CallTimeoutError extends TgCallError {
  declare readonly code: CallTimeoutErrorCode;

  constructor(code: CallTimeoutErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/**
 * Turns anything caught into an Error without throwing again: it runs inside almost every catch
 * block, so a value JSON cannot print (a BigInt, a circular object) or whose `toString` throws
 * must still give an Error.
 */
export function toError(value: unknown): Error {
  try {
    if (value instanceof Error) return value;
    if (typeof value === 'string') return new Error(value);
  } catch {
    // a Proxy whose traps throw: describe it below
  }
  return new Error(describe(value));
}

function describe(value: unknown): string {
  try {
    const json = JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v));
    if (json !== undefined) return json;
  } catch {
    // circular, or a throwing toJSON: fall back to String()
  }
  try {
    return String(value);
  } catch {
    return '[a value that cannot be printed]';
  }
}
