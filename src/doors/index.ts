import type { Door } from './door.js';
import { dnsDoor } from './dns/dns-door.js';
import { grantsDoor } from './grants/grants-door.js';
import { registryDoor } from './registry/registry-door.js';

/** Every door pairgate serves; adding a door is one line here. */
export const allDoors: readonly Door[] = [grantsDoor, registryDoor, dnsDoor];
