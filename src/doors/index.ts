import type { Door } from './door.js';
import { accessDoor } from './access/access-door.js';
import { accountsDoor } from './accounts/accounts-door.js';
import { deviceDoor } from './device/device-door.js';
import { dnsDoor } from './dns/dns-door.js';
import { grantsDoor } from './grants/grants-door.js';
import { homeDoor } from './home/home-door.js';
import { installDoor } from './install/install-door.js';
import { registryDoor } from './registry/registry-door.js';
import { supportDoor } from './support/support-door.js';
import { supportRelayDoor } from './support/relay-door.js';

/** Every door pairgate serves; adding a door is one line here. */
export const allDoors: readonly Door[] = [grantsDoor, accountsDoor, accessDoor, deviceDoor, installDoor, supportDoor, supportRelayDoor, registryDoor, dnsDoor, homeDoor];
