/**
 * `date.toISOString()`, computed from the UTC fields. The command stamps every turn and cassette with it, and the
 * first `toISOString()` of a process makes V8 load the host's time zone (ICU reads /etc/localtime and its data),
 * about 0.6 ms (measured alone, in a bare Node script) of each question's start-up, for a string in UTC anyway.
 */
export function isoTime(date: Date): string {
  if (Number.isNaN(date.getTime())) throw new RangeError("Invalid time value");
  const year = date.getUTCFullYear();
  // As toISOString: four digits for years 0 to 9999, else a sign and six digits.
  const yearText = year >= 0 && year <= 9999 ? pad(year, 4) : `${year < 0 ? "-" : "+"}${pad(Math.abs(year), 6)}`;
  return `${yearText}-${pad(date.getUTCMonth() + 1, 2)}-${pad(date.getUTCDate(), 2)}T${pad(date.getUTCHours(), 2)}:${pad(date.getUTCMinutes(), 2)}:${pad(date.getUTCSeconds(), 2)}.${pad(date.getUTCMilliseconds(), 3)}Z`;
}

function pad(value: number, width: number): string {
  return String(value).padStart(width, "0");
}
