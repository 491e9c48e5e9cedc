// CSV as RFC 4180 writes it (and spreadsheets export it): a header row, commas, fields
// quoted with "..." that may hold commas, newlines and "" for a quote.
import { DataError } from './errors';
import type { Instruction, Located } from './records';

export interface CsvColumns {
  prompt_column?: string;
  response_column?: string;
}

interface CsvRecord {
  /** As a spreadsheet numbers it: the header is row 1 and blank lines count. */
  row: number;
  fields: string[];
}

function parseCsv(file: string, text: string): CsvRecord[] {
  const records: CsvRecord[] = [];
  let fields: string[] = [];
  let field = '';
  let inQuotes = false;
  let closedQuote = false;
  let row = 1;
  const endField = (): void => {
    fields.push(field);
    field = '';
    closedQuote = false;
  };
  const endRecord = (): void => {
    const blank = fields.length === 0 && field === '' && !closedQuote;
    endField();
    if (!blank) records.push({ row, fields });
    fields = [];
    row++;
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inQuotes) {
      if (c !== '"') field += c;
      else if (text[i + 1] === '"') field += text[++i];
      else [inQuotes, closedQuote] = [false, true];
    } else if (c === ',') {
      endField();
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      endRecord();
    } else if (closedQuote) {
      throw new DataError(`${file}: row ${row}: unexpected ${JSON.stringify(c)} after a closing quote (write "" for a quote inside a quoted field)`);
    } else if (c === '"' && field === '') {
      inQuotes = true;
    } else {
      // A quote inside an unquoted field (5" screen) is kept as text, as spreadsheets do.
      field += c;
    }
  }
  if (inQuotes) throw new DataError(`${file}: row ${row}: a quoted field is never closed`);
  if (field !== '' || fields.length > 0 || closedQuote) endRecord();
  return records;
}

const DEFAULT_PROMPT = ['instruction', 'prompt', 'question'];
const DEFAULT_RESPONSE = ['output', 'response', 'answer'];

/** Rows as instructions; an `input` column, when there is one, becomes the input. */
export function csvSamples(file: string, text: string, columns: CsvColumns): Located<Instruction>[] {
  const [header, ...rows] = parseCsv(file, text);
  if (!header) return [];
  const names = header.fields.map((n) => n.trim());
  const prompt = columnIndex(file, names, columns.prompt_column, DEFAULT_PROMPT, 'prompt');
  const response = columnIndex(file, names, columns.response_column, DEFAULT_RESPONSE, 'response');
  const input = names.findIndex((n, i) => n.toLowerCase() === 'input' && i !== prompt && i !== response);
  return rows.map(({ row, fields }) => {
    const where = `${file}: row ${row}`;
    if (fields.length !== names.length) throw new DataError(`${where} has ${fields.length} columns, the header has ${names.length}`);
    return {
      where,
      value: { kind: 'instruction', instruction: fields[prompt], input: input < 0 ? '' : fields[input], output: fields[response] },
    };
  });
}

function columnIndex(file: string, names: string[], chosen: string | undefined, defaults: string[], what: string): number {
  const listed = `columns: ${names.join(', ')}`;
  if (chosen !== undefined) {
    const i = names.indexOf(chosen.trim());
    if (i < 0) throw new DataError(`${file}: no column "${chosen}" for the ${what} (${listed})`);
    return i;
  }
  const lower = names.map((n) => n.toLowerCase());
  for (const name of defaults) {
    const i = lower.indexOf(name);
    if (i >= 0) return i;
  }
  throw new DataError(`${file}: no ${what} column (looked for ${defaults.join(', ')}; ${listed}); set ${what}_column`);
}
