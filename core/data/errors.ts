/**
 * A problem in the user's data file. Its message names the file and the line, item or
 * row, so the user can fix the data; the trainer refuses to start rather than skip it.
 */
export class DataError extends Error {
  override name = 'DataError';
}
