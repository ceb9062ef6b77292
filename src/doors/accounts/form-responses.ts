import { htmlPage } from '../../server/openapi-responses.js';

/**
 * The documented answer of a password form refused because the server is busy hashing others'
 * passwords (`PasswordHashing`), shared by every door whose form checks a password (the accounts
 * door's, the access door's and the device door's sign-in forms), since each can be told it.
 */
export const BusyAgain = htmlPage('Too many password checks under way on the server (`password_hashing_busy`), or already waiting from the client\'s network, which holds its share of the queue (`password_hashing_network_busy`): the form again, saying which and to try again in a moment (Retry-After).');
