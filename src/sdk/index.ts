/** The pairgate SDK: typed clients of each door. */
export * from './client.js';
export * from './errors.js';
export * from './doctor.js';
export * from './registry.js';
export * from './dns-update.js';
export * from './box-discovery.js';
export * from './support.js';
