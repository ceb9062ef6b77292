/** Pure logic of pairgate: no I/O, imports nothing from the rest of the project. */
export * from './errors.js';
export * from './ids.js';
export * from './clock.js';
export * from './codes.js';
export * from './check-character.js';
export * from './brute-force.js';
export * from './grant.js';
export * from './grant-machine.js';
