import { createServer, request as httpRequest, type Server } from 'node:http';

/**
 * A pass-through HTTP proxy to `target` that drops the `wait` parameter, as a misconfigured proxy or
 * cache may: every long-poll then comes back at once, unchanged.
 */
export async function waitDroppingProxy(target: string): Promise<{ url: string; server: Server }> {
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', target);
    url.searchParams.delete('wait');
    const forwarded = httpRequest(url, { method: request.method, headers: { ...request.headers, host: url.host } }, (answer) => {
      response.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(response);
    });
    forwarded.on('error', () => response.destroy());
    request.pipe(forwarded);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return { url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`, server };
}
