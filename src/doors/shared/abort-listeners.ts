/**
 * Many listeners on one AbortSignal, each added and removed in constant time. An EventTarget looks
 * through every listener it holds for a duplicate when one is added (and for the one removed): each
 * open wait listening to the server's shutdown signal made the next wait slower, about 90 µs a
 * wait near 20,000 open, more than the wait's own work.
 */
const listenersOf = new WeakMap<AbortSignal, Set<() => void>>();

/**
 * Calls `listener` once when `signal` aborts (at once if it has); returns the function that stops
 * listening. The signal holds one listener of its own, whatever the number added here.
 */
export function onAbort(signal: AbortSignal, listener: () => void): () => void {
  if (signal.aborted) {
    listener();
    return () => undefined;
  }
  let listeners = listenersOf.get(signal);
  if (!listeners) {
    const added = new Set<() => void>();
    listeners = added;
    listenersOf.set(signal, added);
    signal.addEventListener(
      'abort',
      () => {
        listenersOf.delete(signal);
        for (const each of added) {
          // One listener's failure does not keep the abort from the others, as with the signal's
          // own listeners (the waits' listeners only abort their own controller).
          try {
            each();
          } catch {
            // The listener's own failure.
          }
        }
      },
      { once: true },
    );
  }
  // A wrapper of its own: the same function added twice (two waits sharing a callback) is two listeners.
  const entry = (): void => listener();
  listeners.add(entry);
  const held = listeners;
  return () => {
    held.delete(entry);
  };
}
