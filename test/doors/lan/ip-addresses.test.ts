import { BlockList } from 'node:net';
import { describe, expect, it } from 'vitest';
import { bySubnet, isPrivateAddress, packAddresses, unicastProblem, unpackAddresses } from '../../../src/doors/lan/ip-addresses.js';

describe('IP addresses', () => {
  it('keeps unicast addresses and names what is wrong with the rest', () => {
    expect(unicastProblem('192.168.1.20')).toBeUndefined();
    expect(unicastProblem('fd00::2')).toBeUndefined();
    expect(unicastProblem('0.0.0.0')).toMatch(/not a unicast/);
    expect(unicastProblem('239.255.70.71')).toMatch(/not a unicast/);
    expect(unicastProblem('255.255.255.255')).toMatch(/not a unicast/);
    expect(unicastProblem('ff02::1')).toMatch(/not a unicast/);
    expect(unicastProblem('printer.local')).toMatch(/not an IP address/);
  });

  it('tells private ranges (what own-IP stage 2 keeps) from the rest', () => {
    for (const a of ['10.1.2.3', '172.16.0.1', '172.31.255.254', '192.168.0.1', 'fd12::1']) expect(isPrivateAddress(a)).toBe(true);
    for (const a of ['172.32.0.1', '8.8.8.8', '192.0.2.2', '2001:db8::1', '127.0.0.1']) expect(isPrivateAddress(a)).toBe(false);
  });

  it('packs IPv4 and IPv6 into the IP block and back, canonically', () => {
    const block = packAddresses(['10.0.0.2', 'fd00:0:0:0:0:0:0:2']);
    expect(block.length).toBe(1 + 4 + 1 + 16);
    expect(unpackAddresses(block)).toEqual(['10.0.0.2', 'fd00::2']);
  });

  it('puts addresses inside our own subnets first (a virtual adapter\'s address outside them is tried last)', () => {
    const subnets = new BlockList();
    subnets.addSubnet('192.168.1.0', 24, 'ipv4');
    expect(bySubnet(['172.20.0.1', '192.168.1.20', '10.0.0.5'], subnets)).toEqual({ local: ['192.168.1.20'], other: ['172.20.0.1', '10.0.0.5'] });
  });
});
