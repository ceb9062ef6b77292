import { describe, expect, it } from 'vitest';
import { addressesOf } from '../../src/cli/commands/lan-cli-support.js';

/** Every command's `--address` takes repeats and comma-separated lists alike, each address checked. */
describe('--address values', () => {
  it('flattens repeats and comma lists, trims spaces, drops empty items', () => {
    expect(addressesOf(['10.0.0.1', '10.0.0.2, fd00::1', ',10.0.0.3,'])).toEqual(['10.0.0.1', '10.0.0.2', 'fd00::1', '10.0.0.3']);
    expect(addressesOf(undefined)).toBeUndefined();
    expect(addressesOf([' , '])).toBeUndefined();
  });

  it('refuses what is no unicast IP address, and more than `max`, naming the option', () => {
    expect(() => addressesOf(['10.0.0.1,host.example'])).toThrow('--address: "host.example" is not an IP address.');
    expect(() => addressesOf(['239.255.70.71'])).toThrow('--address: 239.255.70.71 is not a unicast address.');
    expect(() => addressesOf(['10.0.0.1,10.0.0.2', '10.0.0.3'], 2)).toThrow('--address: at most 2 addresses fit in a connection string; 3 were given.');
  });
});
