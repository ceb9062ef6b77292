/**
 * Check characters that catch every single mistyped character and every swap of two neighbours.
 *
 * Damm's scheme: fold the symbols through a totally anti-symmetric quasigroup `*` (interim = interim
 * * symbol) and append the symbol that brings the interim to 0. Such a quasigroup of order n is built
 * here from finite fields: over GF(q), `x * y = a·x + y` with a ∉ {0, 1} is totally anti-symmetric,
 * and a direct product of such quasigroups is one too. So every alphabet whose size factors into
 * prime powers that are each 2^k (k >= 2) or an odd prime is covered (20 = 4·5, 32 = 2^5, 31, ...).
 * Order 10 uses Damm's published table. Sizes with a lone factor 2 (e.g. 34) have no check character.
 */

/** A quasigroup of order `size` given by its operation on symbol indexes. */
interface Quasigroup {
  size: number;
  op(x: number, y: number): number;
}

/** Damm's totally anti-symmetric quasigroup of order 10 (from his 2004 thesis). */
const DAMM_10: readonly (readonly number[])[] = [
  [0, 3, 1, 7, 5, 9, 8, 6, 4, 2],
  [7, 0, 9, 2, 1, 5, 4, 8, 6, 3],
  [4, 2, 0, 6, 8, 7, 1, 3, 5, 9],
  [1, 7, 5, 0, 9, 8, 3, 4, 2, 6],
  [6, 1, 2, 3, 0, 4, 5, 9, 7, 8],
  [3, 6, 7, 4, 2, 0, 9, 5, 8, 1],
  [5, 8, 6, 9, 7, 2, 0, 1, 3, 4],
  [8, 9, 4, 5, 3, 6, 2, 0, 1, 7],
  [9, 4, 3, 8, 6, 1, 7, 2, 0, 5],
  [2, 5, 8, 1, 4, 3, 6, 7, 9, 0],
];

/** Irreducible polynomials for GF(2^k), k = 2..7 (bit i = coefficient of x^i). */
const IRREDUCIBLE: Record<number, number> = { 2: 0b111, 3: 0b1011, 4: 0b10011, 5: 0b100101, 6: 0b1000011, 7: 0b10000011 };

function primeField(p: number): Quasigroup {
  // a = 2 is neither 0 nor 1 in GF(p) for odd p.
  return { size: p, op: (x, y) => (2 * x + y) % p };
}

function binaryField(k: number): Quasigroup {
  const poly = IRREDUCIBLE[k];
  if (poly === undefined) throw new RangeError(`GF(2^${k}) is not supported`);
  const size = 1 << k;
  // Multiplying by the generator x (a = 2, neither 0 nor 1) is a shift reduced by the polynomial;
  // addition in characteristic 2 is XOR.
  const timesX = (v: number): number => {
    const shifted = v << 1;
    return shifted & size ? shifted ^ poly : shifted;
  };
  return { size, op: (x, y) => timesX(x) ^ y };
}

function tableQuasigroup(table: readonly (readonly number[])[]): Quasigroup {
  return { size: table.length, op: (x, y) => table[x]![y]! };
}

/** Splits n into prime-power factors, e.g. 20 -> [4, 5], 32 -> [32]. */
function primePowerFactors(n: number): { prime: number; power: number }[] {
  const factors: { prime: number; power: number }[] = [];
  let rest = n;
  for (let p = 2; p * p <= rest; p++) {
    if (rest % p !== 0) continue;
    let power = 1;
    let exponent = 0;
    while (rest % p === 0) {
      rest /= p;
      power *= p;
      exponent++;
    }
    factors.push({ prime: p, power: exponent === 0 ? 1 : power });
  }
  if (rest > 1) factors.push({ prime: rest, power: rest });
  return factors;
}

function productQuasigroup(parts: Quasigroup[]): Quasigroup {
  const size = parts.reduce((total, part) => total * part.size, 1);
  const split = (value: number): number[] => {
    const digits: number[] = [];
    let rest = value;
    for (const part of parts) {
      digits.push(rest % part.size);
      rest = Math.floor(rest / part.size);
    }
    return digits;
  };
  const join = (digits: number[]): number => {
    let value = 0;
    for (let i = parts.length - 1; i >= 0; i--) value = value * parts[i]!.size + digits[i]!;
    return value;
  };
  return {
    size,
    op: (x, y) => {
      const xs = split(x);
      const ys = split(y);
      return join(parts.map((part, i) => part.op(xs[i]!, ys[i]!)));
    },
  };
}

/** Builds the quasigroup for an alphabet of `size` symbols, or undefined when none is known. */
function quasigroupFor(size: number): Quasigroup | undefined {
  if (size === 10) return tableQuasigroup(DAMM_10);
  const parts: Quasigroup[] = [];
  for (const { prime, power } of primePowerFactors(size)) {
    if (prime === 2) {
      const k = Math.log2(power);
      if (k < 2 || IRREDUCIBLE[k] === undefined) return undefined;
      parts.push(binaryField(k));
    } else if (power === prime) {
      parts.push(primeField(prime));
    } else {
      return undefined; // odd prime powers (9, 25, ...) are not needed by any shipped alphabet
    }
  }
  return parts.length === 1 ? parts[0] : productQuasigroup(parts);
}

/** Computes and verifies Damm check symbols for one alphabet size. */
export class CheckCharacter {
  private readonly table: Uint16Array;
  /** Number of symbols in the alphabet. */
  readonly size: number;

  private constructor(group: Quasigroup) {
    this.size = group.size;
    // Precompute the operation table: n <= 128 keeps it small and the fold fast.
    this.table = new Uint16Array(group.size * group.size);
    for (let x = 0; x < group.size; x++) {
      for (let y = 0; y < group.size; y++) this.table[x * group.size + y] = group.op(x, y);
    }
  }

  /** The checker for an alphabet of `size` symbols, or undefined when that size has none. */
  static forAlphabetSize(size: number): CheckCharacter | undefined {
    const group = quasigroupFor(size);
    return group ? new CheckCharacter(group) : undefined;
  }

  private fold(indexes: readonly number[]): number {
    let interim = 0;
    for (const index of indexes) interim = this.table[interim * this.size + index]!;
    return interim;
  }

  /** The check symbol index to append to `indexes`. */
  compute(indexes: readonly number[]): number {
    const interim = this.fold(indexes);
    for (let c = 0; c < this.size; c++) {
      if (this.table[interim * this.size + c] === 0) return c;
    }
    throw new Error('quasigroup row without a zero'); // impossible for a quasigroup
  }

  /** True when `indexes` (ending in the check symbol) is consistent. */
  verify(indexes: readonly number[]): boolean {
    return this.fold(indexes) === 0;
  }
}
