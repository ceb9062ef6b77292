import { createHook } from 'node:async_hooks';

/**
 * One of Node's next-tick objects, kept for the life of the process (see keepTickObjectShape).
 * Exported for its test only.
 */
export let keptTickObject: object | undefined;

/**
 * Keeps one of the objects `process.nextTick` queues alive for the life of the process, so that V8
 * keeps the hidden class those objects share.
 *
 * Why: every HTTP request makes about six `process.nextTick` calls inside Node's streams, and Node
 * 20 builds each queued object with computed symbol keys (`{ [async_id_symbol]: ..., callback,
 * args }`). Tick objects live a few microseconds, so at a full garbage collection often none is
 * alive; V8 then frees their hidden class, and the next tick builds a new one. A server that loads
 * as much as pairgate does runs several full collections while it starts, and after a handful of
 * new classes the feedback of that literal turns megamorphic for good: from then on every tick
 * adds its properties through V8's runtime (`Runtime_DefineKeyedOwnPropertyInLiteral`), about
 * 400 ns instead of 60. Measured on grant creation: 2.6 us of CPU per request in `nextTick`
 * against 0.4 us in the benchmark floor, and about 7% more creations per second with one tick
 * object kept (alternating rounds of the benchmark's creation load, December 2026, Node 20.20).
 * One object whose class never dies keeps the literal's feedback monomorphic.
 *
 * How: an async hook is enabled for one `process.nextTick` call, which Node reports to its `init`
 * callback with the tick object as the resource, and disabled at once; the hook costs nothing
 * afterwards. Call it first thing, before the modules of the server are loaded, since the
 * collections that do the harm run while they load. Calling it again does nothing.
 */
export function keepTickObjectShape(): void {
  if (keptTickObject) return;
  const hook = createHook({
    init(_asyncId, type, _triggerAsyncId, resource) {
      if (type === 'TickObject') keptTickObject ??= resource;
    },
  });
  hook.enable();
  try {
    process.nextTick(doNothing);
  } finally {
    hook.disable();
  }
}

function doNothing(): void {}
