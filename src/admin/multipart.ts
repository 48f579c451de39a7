/** One uploaded form (multipart/form-data): its text fields and its files' bytes. */
export interface FormData {
  fields: Record<string, string>;
  files: Record<string, { filename: string; data: Buffer }>;
}

/** Enough of RFC 7578 for a back-office upload form (one small file and a few fields), without a dependency. */
export function parseMultipart(body: Buffer, contentType: string | undefined): FormData | null {
  const boundary = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(contentType ?? '');
  if (!boundary) return null;
  const delimiter = Buffer.from(`--${boundary[1] ?? boundary[2]}`);
  const out: FormData = { fields: {}, files: {} };
  let at = body.indexOf(delimiter);
  while (at >= 0) {
    const start = at + delimiter.length;
    if (body.subarray(start, start + 2).toString() === '--') break;
    const next = body.indexOf(delimiter, start);
    if (next < 0) break;
    const part = body.subarray(start + 2, next - 2); // skip the CRLF after the delimiter and before the next
    const headEnd = part.indexOf('\r\n\r\n');
    if (headEnd >= 0) {
      const head = part.subarray(0, headEnd).toString('utf8');
      const data = part.subarray(headEnd + 4);
      const name = /name="([^"]*)"/i.exec(head)?.[1];
      const filename = /filename="([^"]*)"/i.exec(head)?.[1];
      if (name !== undefined) {
        if (filename !== undefined) out.files[name] = { filename, data: Buffer.from(data) };
        else out.fields[name] = data.toString('utf8');
      }
    }
    at = next;
  }
  return out;
}
