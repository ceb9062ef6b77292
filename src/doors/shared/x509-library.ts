import { webcrypto } from 'node:crypto';
import type * as X509 from '@peculiar/x509';

/** @peculiar/x509's exports. */
export type X509Library = typeof X509;

let loading: Promise<X509Library> | undefined;

/**
 * @peculiar/x509, loaded on first use and set to sign with Node's WebCrypto. A server makes
 * certificates rarely (a box's identity once, a DNS update listener's when it has none), and the
 * library with its Reflect polyfill and ASN.1 schemas took a fifth of a second and several MiB of
 * heap at every start (and every full garbage collection walks that heap), so it is not imported
 * with the modules that may use it.
 */
export function loadX509(): Promise<X509Library> {
  loading ??= (async () => {
    // @peculiar/x509 needs the Reflect metadata polyfill loaded before it.
    await import('reflect-metadata');
    const x509 = await import('@peculiar/x509');
    x509.cryptoProvider.set(webcrypto as never);
    return x509;
  })();
  return loading;
}
