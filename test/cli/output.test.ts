import { afterEach, describe, expect, it, vi } from 'vitest';
import { InvalidRequestError, UnavailableError } from '../../src/core/errors.js';
import { reportCliError } from '../../src/cli/output.js';
import { PairgateApiError } from '../../src/sdk/errors.js';

describe('the exit code of a failed command (README: 2 for what the person fixes, 1 otherwise)', () => {
  afterEach(() => vi.restoreAllMocks());

  it('is 2 for bad input and for a TLS refusal fixed by an option, 1 for a server or network failure', () => {
    const printed: string[] = [];
    vi.spyOn(console, 'error').mockImplementation((line: string) => void printed.push(line));
    expect(reportCliError(new InvalidRequestError('The code is malformed.'))).toBe(2);
    expect(reportCliError(new UnavailableError('Try again shortly.'))).toBe(1);
    expect(reportCliError(new PairgateApiError(404, 'code_not_found', 'No live request has this code.'))).toBe(2);
    expect(reportCliError(new PairgateApiError(503, 'store_unavailable', 'A backing store is unreachable.'))).toBe(1);
    expect(reportCliError(new PairgateApiError(0, 'tls_untrusted', 'https://box:8443 presented a TLS certificate this client does not trust.'))).toBe(2);
    expect(reportCliError(new PairgateApiError(0, 'tls_name_mismatch', 'https://box:8443: the certificate does not name box.'))).toBe(2);
    expect(reportCliError(new PairgateApiError(0, 'network_error', 'Nothing answers at http://127.0.0.1:9.'))).toBe(1);
    expect(printed[4]).toBe('pairgate: https://box:8443 presented a TLS certificate this client does not trust. [tls_untrusted]');
  });
});
