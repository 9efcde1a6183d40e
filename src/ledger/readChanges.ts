import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { extname } from 'node:path';
import { createInterface } from 'node:readline';

import { CsvError, parse as parseCsv } from 'csv-parse';

import { LedgerInputError } from '../errors.js';
import { JsonKeyError, parseStrictJson } from '../strictJson.js';
import type { NumberedRecord } from './balanceChanges.js';

export type ChangeFileFormat = 'jsonl' | 'csv';

export interface ChangeFile {
  format: ChangeFileFormat;
  /** Size in bytes, for a progress bar. */
  size: number;
  /** Bytes read so far. */
  bytesRead: () => number;
  records: AsyncIterable<NumberedRecord>;
}

const CSV_HEADER = ['id', 'user', 'asset', 'delta', 'at'];

/** Picks the format from the name: .jsonl/.ndjson/.json lines or .csv. */
export function formatOf(path: string): ChangeFileFormat {
  const ext = extname(path).toLowerCase();
  if (ext === '.csv') return 'csv';
  if (ext === '.jsonl' || ext === '.ndjson' || ext === '.json') return 'jsonl';
  throw new LedgerInputError(`${path}: cannot tell the format from the name; use .jsonl or .csv, or pass --format`);
}

/**
 * Streams the records of a balance-change file with their line numbers.
 * JSONL: one object a line, blank lines skipped. CSV: a header row naming
 * id,user,asset,delta,at (any order), RFC 4180 quoting.
 */
export async function openChangeFile(path: string, format: ChangeFileFormat = formatOf(path)): Promise<ChangeFile> {
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch (error) {
    throw new LedgerInputError(`${path}: cannot read the file (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  const stream = createReadStream(path);
  return {
    format,
    size,
    bytesRead: () => stream.bytesRead,
    records: format === 'csv' ? csvRecords(stream) : jsonlRecords(stream),
  };
}

async function* jsonlRecords(stream: NodeJS.ReadableStream): AsyncGenerator<NumberedRecord> {
  let line = 0;
  for await (const text of createInterface({ input: stream, crlfDelay: Infinity })) {
    line += 1;
    if (text.trim() === '') continue;
    let record: unknown;
    try {
      record = parseStrictJson(text);
    } catch (error) {
      record = error instanceof JsonKeyError ? error.message : 'not valid JSON';
    }
    yield { line, record };
  }
}

async function* csvRecords(stream: NodeJS.ReadableStream): AsyncGenerator<NumberedRecord> {
  const parser = stream.pipe(
    parseCsv({ info: true, skip_empty_lines: true, relax_column_count: true, bom: true, trim: false }),
  );
  let header: string[] | undefined;
  for await (const { record, info } of malformedCsvRefused(parser as AsyncIterable<{ record: string[]; info: { lines: number } }>)) {
    if (!header) {
      header = record.map((h) => h.trim());
      const missing = CSV_HEADER.filter((h) => !header!.includes(h));
      const extra = header.filter((h) => !CSV_HEADER.includes(h));
      if (missing.length > 0 || extra.length > 0 || header.length !== CSV_HEADER.length) {
        throw new LedgerInputError(
          `line ${info.lines}: the CSV header must name ${CSV_HEADER.join(',')}, got ${record.join(',')}; nothing was written`,
        );
      }
      continue;
    }
    if (record.length !== header.length) {
      yield { line: info.lines, record: `expected ${header.length} fields, got ${record.length}` };
      continue;
    }
    yield { line: info.lines, record: Object.fromEntries(header.map((h, i) => [h, record[i]])) };
  }
}

/** A CSV that cannot be read at all (a quote never closed, …) is refused input, like any other bad record: exit 65, nothing written. */
async function* malformedCsvRefused<T>(rows: AsyncIterable<T>): AsyncGenerator<T> {
  try {
    yield* rows;
  } catch (error) {
    if (error instanceof CsvError) throw new LedgerInputError(`the CSV cannot be read: ${error.message.split('\n')[0]}; nothing was written`);
    throw error;
  }
}
