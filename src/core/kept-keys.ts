/**
 * Values made from two strings (a scope and a client address, say) and kept, so that the same
 * two strings give back the same value. For keys built on every request: a string built anew is
 * hashed, and compared character by character, by every map it is looked up in, while the same
 * string object is found by identity with the hash V8 keeps on it. Bounded: once one scope holds
 * `bound` values, they are dropped and made again as asked.
 */
export class KeptKeys<T> {
  private readonly byScope = new Map<string, Map<string, T>>();

  /**
   * @param make builds the value of a scope and a name.
   * @param bound values kept per scope at most.
   */
  constructor(
    private readonly make: (scope: string, name: string) => T,
    private readonly bound = 4096,
  ) {}

  /** The value of `scope` and `name`: the kept one, or a new one, then kept. */
  get(scope: string, name: string): T {
    let byName = this.byScope.get(scope);
    if (!byName) this.byScope.set(scope, (byName = new Map()));
    let value = byName.get(name);
    if (value === undefined) {
      if (byName.size >= this.bound) byName.clear();
      value = this.make(scope, name);
      byName.set(name, value);
    }
    return value;
  }
}
