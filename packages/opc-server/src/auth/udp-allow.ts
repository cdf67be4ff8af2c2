/**
 * `udpAllow` (docs/SECURITY.md, "UDP ingest"): the addresses whose datagrams are taken. A datagram carries no
 * token, so this is the only say the server has over who sends readings by UDP; a source address is easy to forge,
 * so it complements a firewall rather than replacing one.
 *
 * How it works: the rules go into a `node:net` `BlockList` (used as an allow list); an IPv4 address that arrives
 * as IPv6 (`::ffff:10.0.0.7`, on a dual-stack socket) is checked as IPv4. Refused datagrams are counted by reason.
 */
import { BlockList, isIPv4, isIPv6 } from 'node:net';

/**
 * Why a datagram was refused before parsing.
 *
 * @example
 * ```ts
 * const reason: UdpRefusal = 'not-allowed';
 * ```
 */
export type UdpRefusal = 'not-allowed';

const MAPPED = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i;

/**
 * Reads one rule: an address (`10.0.0.7`, `fd00::1`) or a CIDR block (`10.20.0.0/16`, `fd00::/8`).
 *
 * @throws RangeError naming the rule and what was expected.
 */
function parseRule(rule: string): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } {
  const slash = rule.indexOf('/');
  const address = slash < 0 ? rule : rule.slice(0, slash);
  const family = isIPv4(address) ? 'ipv4' : isIPv6(address) ? 'ipv6' : undefined;
  const max = family === 'ipv4' ? 32 : 128;
  const prefixText = slash < 0 ? String(max) : rule.slice(slash + 1);
  const prefix = /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : Number.NaN;
  if (family === undefined || !(prefix >= 0 && prefix <= max)) {
    throw new RangeError(
      `udpAllow: ${JSON.stringify(rule.slice(0, 64))} is not an address or a CIDR block (such as 10.20.0.0/16 or fd00::/8)`,
    );
  }
  return { address, prefix, family };
}

/**
 * The addresses allowed to send datagrams.
 *
 * @example
 * ```ts
 * const allow = new UdpAllowList(['10.20.0.0/16', '127.0.0.1']);
 * allow.check('10.20.3.4'); // true
 * allow.check('192.168.1.1'); // false, counted as not-allowed
 * ```
 */
export class UdpAllowList {
  /** The rules, as given. */
  readonly rules: readonly string[];
  /** Datagrams refused, by reason. */
  readonly refused: Record<UdpRefusal, number> = { 'not-allowed': 0 };
  readonly #list = new BlockList();

  constructor(rules: readonly string[]) {
    if (!Array.isArray(rules) || rules.length === 0) {
      throw new RangeError('udpAllow must be a non-empty list of addresses or CIDR blocks');
    }
    const copy: string[] = [];
    for (const rule of rules as readonly unknown[]) {
      if (typeof rule !== 'string') throw new TypeError(`udpAllow rules must be strings (got ${typeof rule})`);
      const { address, prefix, family } = parseRule(rule.trim());
      this.#list.addSubnet(address, prefix, family);
      copy.push(rule);
    }
    this.rules = Object.freeze(copy);
  }

  /** Whether a datagram from `address` is taken; a refusal is counted. */
  check(address: string): boolean {
    const mapped = MAPPED.exec(address);
    const ok =
      mapped !== null
        ? this.#list.check(mapped[1]!, 'ipv4')
        : this.#list.check(address, isIPv4(address) ? 'ipv4' : 'ipv6');
    if (!ok) this.refused['not-allowed']++;
    return ok;
  }

  /** The `udp_*` keys of `STATS`. */
  stats(): Record<string, number> {
    return { udp_allow_rules: this.rules.length, udp_refused_not_allowed: this.refused['not-allowed'] };
  }
}
