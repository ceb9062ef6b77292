/**
 * Reads a server-sent event stream's body until `needle` is in it, then cancels it; without a
 * needle, to its end. A stream that ends before its needle throws, naming what it read.
 */
export async function readEventStream(response: Response, needle?: string): Promise<string> {
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  while (needle === undefined || !text.includes(needle)) {
    const { value, done } = await reader.read();
    if (done) {
      if (needle !== undefined) throw new Error(`stream ended before ${needle}: ${text}`);
      break;
    }
    text += decoder.decode(value);
  }
  if (needle !== undefined) await reader.cancel();
  return text;
}
