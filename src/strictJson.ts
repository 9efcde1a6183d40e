/**
 * JSON with one value per key. `JSON.parse` keeps the last of two equal
 * keys, so `{"delta": "1", "delta": "100"}` would mean whatever the last
 * parser in a chain of proxies and clients happens to keep: such text is
 * refused instead, and so is a `__proto__` key (a later `Object.assign`
 * would make it the object's prototype).
 */

/** The text is JSON, but one of its keys is refused: repeated within one object, or `__proto__`. */
export class JsonKeyError extends SyntaxError {
  constructor(readonly key: string) {
    const shown = JSON.stringify(key.length > 64 ? `${key.slice(0, 64)}…` : key);
    super(key === '__proto__' ? `the key ${shown} is not accepted` : `duplicate key ${shown} in one object`);
    this.name = 'JsonKeyError';
  }
}

/**
 * Parses JSON like `JSON.parse`, refusing an object that repeats a key.
 * @throws SyntaxError for text that is not JSON, JsonKeyError for a repeated key or `__proto__`.
 */
export function parseStrictJson(text: string): unknown {
  const value: unknown = JSON.parse(text);
  // Only objects can repeat a key; a document without one is done.
  if (text.includes('{')) checkKeys(text);
  return value;
}

interface Frame {
  keys: Set<string> | null;
  /** In an object, the next string is a key. */
  expectKey: boolean;
}

/** One pass over text already known to be valid JSON: every object's keys, decoded, must differ. */
function checkKeys(text: string): void {
  const stack: Frame[] = [];
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      const start = i;
      let escaped = false;
      for (i += 1; i < text.length; i += 1) {
        const d = text.charCodeAt(i);
        if (d === 0x5c /* \ */) {
          escaped = true;
          i += 1;
        } else if (d === 0x22) break;
      }
      const top = stack.at(-1);
      if (top?.keys && top.expectKey) {
        const raw = text.slice(start + 1, i);
        const key = escaped ? (JSON.parse(text.slice(start, i + 1)) as string) : raw;
        if (top.keys.has(key) || key === '__proto__') throw new JsonKeyError(key);
        top.keys.add(key);
        top.expectKey = false;
      }
    } else if (c === 0x7b /* { */) {
      stack.push({ keys: new Set(), expectKey: true });
    } else if (c === 0x5b /* [ */) {
      stack.push({ keys: null, expectKey: false });
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
    } else if (c === 0x2c /* , */) {
      const top = stack.at(-1);
      if (top?.keys) top.expectKey = true;
    }
  }
}
