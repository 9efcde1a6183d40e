/**
 * URLs leave the process (in logs, errors, `/ready`, the dashboard) only as
 * scheme, host and port. An RPC endpoint's path or query can carry an API
 * key (`https://rpc.provider/v2/<key>`, `?apikey=`), its userinfo a
 * password: none of it is needed to tell which endpoint failed.
 */

const URL_IN_TEXT = /\b([a-z][a-z0-9+.-]*:\/\/)(?:[^\s/?#@]*@)?(\[[0-9a-f:.]+\]|[^\s/?#:'"<>()[\]{},;@]+)(:[0-9]{1,5})?[^\s'"<>)\]},;]*/gi;

/** `https://user:pw@rpc.example:8443/v2/KEY?x=1` → `https://rpc.example:8443`, wherever a URL appears in the text. */
export function redactUrls(text: string): string {
  return text.replace(URL_IN_TEXT, (_all, scheme: string, host: string, port: string | undefined) => `${scheme}${host}${port ?? ''}`);
}

/** One URL as scheme, host and port: what a log or an error may name of an endpoint. */
export function originOf(url: string): string {
  return redactUrls(url);
}
