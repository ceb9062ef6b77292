import dnsPacket from 'dns-packet';
import { describe, expect, it } from 'vitest';
import { slipAnswer } from '../../../src/doors/dns/large-answers.js';

describe('slipAnswer (the answer a query past the UDP rate gets every second time)', () => {
  it('is the query\'s header and question with QR and TC, its opcode and RD kept, no records and no OPT', () => {
    const query = dnsPacket.encode({ type: 'query', id: 4242, flags: dnsPacket.RECURSION_DESIRED | dnsPacket.CHECKING_DISABLED, questions: [{ type: 'TXT', name: 'a.example.test' }], additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 4096, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [{ code: 12, length: 8 }] }] });
    const slip = slipAnswer(query)!;
    const decoded = dnsPacket.decode(slip);
    expect(decoded.id).toBe(4242);
    expect(decoded.type).toBe('response');
    expect(decoded.flag_tc).toBe(true);
    expect(decoded.flag_rd).toBe(true);
    expect(decoded.flag_cd).toBe(false);
    expect(slip.readUInt16BE(2) & 0x000f).toBe(0); // RCODE
    expect(decoded.questions).toEqual([{ type: 'TXT', name: 'a.example.test', class: 'IN' }]);
    expect(decoded.additionals).toEqual([]);
    expect(slip.length).toBeLessThan(query.length);
  });

  it('is nothing for an answer or a runt, and the bare header for a question it cannot read', () => {
    const answer = dnsPacket.encode({ type: 'response', id: 1, questions: [{ type: 'A', name: 'x.test' }] });
    expect(slipAnswer(answer)).toBeUndefined();
    expect(slipAnswer(Buffer.alloc(11))).toBeUndefined();
    const twoQuestions = dnsPacket.encode({ type: 'query', id: 9, questions: [{ type: 'A', name: 'x.test' }, { type: 'A', name: 'y.test' }] });
    const bare = slipAnswer(twoQuestions)!;
    expect(bare).toHaveLength(12);
    expect(bare.readUInt16BE(0)).toBe(9);
    expect(bare.readUInt16BE(2) & 0x8200).toBe(0x8200);
    expect([4, 6, 8, 10].map((at) => bare.readUInt16BE(at))).toEqual([0, 0, 0, 0]);
  });
});
