import type { Door } from './door.js';
import { grantsDoor } from './grants/grants-door.js';
import { supportDoor } from './support/support-door.js';
import { supportRelayDoor } from './support/relay-door.js';

/** Every door pairgate serves; adding a door is one line here. */
export const allDoors: readonly Door[] = [grantsDoor, supportDoor, supportRelayDoor];
