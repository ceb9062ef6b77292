/** The pairgate SDK: typed clients of each door. */
export * from './client.js';
export * from './errors.js';
export * from './support.js';
