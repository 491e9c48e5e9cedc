// CSV as RFC 4180 writes it (and spreadsheets export it): a header row, commas, fields
// quoted with "..." that may hold commas, newlines and "" for a quote.
import { DataError } from './errors';
import { guessFields, type ChosenFields, type FieldGuess } from './fields';
import type { Instruction, Located } from './records';

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

/** Rows as instructions, with the columns guessFields found (an `input` column becomes the input). */
export function csvSamples(file: string, text: string, chosen: ChosenFields): { samples: Located<Instruction>[]; columns: FieldGuess } {
  const [header, ...rows] = parseCsv(file, text);
  const names = header ? header.fields.map((n) => n.trim()) : [];
  const columns = guessFields(file, names, chosen);
  const [prompt, input, response] = [columns.prompt, columns.input, columns.response].map((n) => (n === null ? -1 : names.indexOf(n)));
  const samples = rows.map(({ row, fields }): Located<Instruction> => {
    const where = `${file}: row ${row}`;
    if (fields.length !== names.length) throw new DataError(`${where} has ${fields.length} columns, the header has ${names.length}`);
    return {
      where,
      value: { kind: 'instruction', instruction: fields[prompt], input: input < 0 ? '' : fields[input], output: fields[response] },
    };
  });
  return { samples, columns };
}
