/**
 * Standard input read whole, up to `maxBytes`: the text, or `undefined` once it has more, read no
 * further. `lan join -` read all of it into memory (`readFileSync(0)`) before the connection
 * string's length limit applied, so `yes | pairgate lan join -` grew until the process was killed.
 */
export async function readStdinText(maxBytes: number, input: NodeJS.ReadableStream = process.stdin): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of input) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk as Buffer;
    size += bytes.length;
    // Leaving the loop ends the stream: nothing more is read, the writer gets EPIPE.
    if (size > maxBytes) return undefined;
    chunks.push(bytes);
  }
  return Buffer.concat(chunks).toString('utf8');
}
