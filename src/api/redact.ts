/**
 * Error messages leave the process (in `/ready` bodies and logs) only through
 * here: a `user:password@` in any URL they quote is removed first.
 */
const USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@]*@/gi;

/** `redis://:secret@host:6379` → `redis://host:6379`, wherever a URL appears in the text. */
export function redactUrls(text: string): string {
  return text.replace(USERINFO, '$1');
}
