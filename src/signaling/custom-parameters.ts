/**
 * `phoneCall.custom_parameters`: a JSON object the server attaches to a call to switch the official
 * engine's experiments on (official-clients.md §5, §6.3). The official Android app passes it to
 * tgcalls (tdesktop and iOS pass nothing); tgcalls reads a flag as on only when it is a JSON `true`
 * (android-tgcalls `v2/CustomParameters.h` `getCustomParameterBool` @c84801762).
 *
 * Keys that change the wire and what tgcall does with each:
 * - `network_signaling_nosctp`: V3 signaling without SCTP — honoured (src/carrier).
 * - `network_kcp_experiment`: V3 signaling whatever the version — honoured (`signalingModeFor`).
 * - `network_standalone_reflectors`: reflectors only, made-up candidates — honoured (src/network).
 * - `network_use_mtproto`: no DTLS; RTP and SCTP travel in a Transport-type encrypted connection
 *   over ICE (android-tgcalls `MtProtoIceTransport`, `NativeNetworkingImpl` skips DtlsSrtpTransport).
 *   node-datachannel has no way to run ICE without DTLS-SRTP, so a call with it cannot connect:
 *   the call ends as soon as the key is agreed (`UNSUPPORTED_CUSTOM_PARAMETER`), not after a
 *   connect timeout.
 */

/** A flag as tgcalls reads it: on only when the value is JSON `true`. */
export function customParameterFlag(parameters: Readonly<Record<string, unknown>> | undefined, name: string): boolean {
  return parameters?.[name] === true;
}

/** Flags that make a call impossible for tgcall, with why. */
const UNSUPPORTED_FLAGS: Readonly<Record<string, string>> = Object.freeze({
  network_use_mtproto: 'media encrypted by an MTProto-style connection over ICE instead of DTLS-SRTP, which the WebRTC stack tgcall uses cannot do',
});

/** The first flag that is on and that tgcall cannot honour, with the reason; undefined if none. */
export function unsupportedCustomParameter(
  parameters: Readonly<Record<string, unknown>> | undefined,
): { readonly name: string; readonly reason: string } | undefined {
  for (const [name, reason] of Object.entries(UNSUPPORTED_FLAGS)) {
    if (customParameterFlag(parameters, name)) return { name, reason };
  }
  return undefined;
}

/** Longest custom_parameters text logged as it is; longer text is cut (the server's TL allows more). */
const LOGGED_JSON_MAX = 2_048;

/** The raw JSON for a log record, bounded. It carries no secret (server experiment switches). */
export function customParametersForLog(json: string | undefined): string | undefined {
  if (json === undefined) return undefined;
  return json.length <= LOGGED_JSON_MAX ? json : `${json.slice(0, LOGGED_JSON_MAX)}… (${json.length} chars)`;
}
