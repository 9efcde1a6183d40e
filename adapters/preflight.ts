/**
 * What every chain's preflight shares (see `ChainAdapter.preflight` and
 * `PreflightKind` in types.ts): building checks, probing each endpoint on
 * its own (not through failover: the operator must hear of the one that is
 * down or on the wrong chain), the custody and limits lines by one rule on
 * every chain, and a guard that turns a throw into a named failure.
 */
import { safeUrl } from './errors.js';
import type { ChainLimits, PreflightCheck, PreflightKind, PreflightStatus } from './types.js';

export function check(kind: PreflightKind, name: string, status: PreflightStatus, detail: string, fix?: string): PreflightCheck {
  return fix === undefined ? { kind, name, status, detail } : { kind, name, status, detail, fix };
}

/** `amount` base units as a decimal number of tokens, for a person (`12.5`). */
export function formatUnits(amount: bigint, decimals: number): string {
  const negative = amount < 0n;
  const digits = (negative ? -amount : amount).toString().padStart(decimals + 1, '0');
  const whole = digits.slice(0, digits.length - decimals);
  const fraction = digits.slice(digits.length - decimals).replace(/0+$/, '');
  return `${negative ? '-' : ''}${whole}${fraction ? `.${fraction}` : ''}`;
}

function reasonOf(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0]!.slice(0, 300);
}

/** Runs `work`; a throw becomes one failure check of `kind`/`name` naming the error. */
export async function guarded(kind: PreflightKind, name: string, fix: string, work: () => Promise<PreflightCheck[]>): Promise<PreflightCheck[]> {
  try {
    return await work();
  } catch (error) {
    return [check(kind, name, 'failure', `could not check: ${reasonOf(error)}`, fix)];
  }
}

/** What one endpoint said it serves. */
export interface EndpointAnswer {
  /** Its chain id or network, as the chain names it. */
  chainId: string;
  /** More for a person (node version, latest height). */
  detail?: string;
}

/**
 * One check per endpoint, each asked on its own within `timeoutMs`: ok when
 * it serves `expected` (any chain id when `expected` is undefined), failure
 * on another chain, and when it does not answer a warning while another
 * endpoint serves the chain, a failure when none does.
 */
export async function endpointChecks(
  endpoints: readonly string[],
  expected: string | undefined,
  timeoutMs: number,
  probe: (endpoint: string, signal: AbortSignal) => Promise<EndpointAnswer>,
): Promise<PreflightCheck[]> {
  const answers = await Promise.all(
    endpoints.map(async (endpoint): Promise<PreflightCheck> => {
      const name = safeUrl(endpoint);
      const signal = AbortSignal.timeout(timeoutMs);
      try {
        const answer = await Promise.race([
          probe(endpoint, signal),
          new Promise<never>((_resolve, reject) => signal.addEventListener('abort', () => reject(new Error(`no answer within ${timeoutMs} ms`)), { once: true })),
        ]);
        const more = answer.detail ? `, ${answer.detail}` : '';
        if (expected !== undefined && answer.chainId !== expected) {
          return check('endpoint', name, 'failure', `serves ${answer.chainId}, the config expects ${expected}${more}`, `point the endpoint at a ${expected} node, or fix the chain id in the chain block's options`);
        }
        return check('endpoint', name, 'ok', `serves ${answer.chainId}${more}`);
      } catch (error) {
        return check('endpoint', name, 'warning', `does not answer: ${reasonOf(error)}`, 'check the URL and that the node is up and reachable from this machine; the daemon fails over to the next endpoint meanwhile');
      }
    }),
  );
  if (!answers.some((a) => a.status === 'ok')) {
    return answers.map((a) => (a.status === 'warning' ? { ...a, status: 'failure', fix: 'no endpoint serves the chain: fix the endpoints or bring a node up' } : a));
  }
  return answers;
}

/** What the custody check needs to know of the account. */
export interface CustodyAnswer {
  /** The chain knows the account (funded once; NEAR: created). */
  exists: boolean;
  liquid: bigint;
  bonded: bigint;
}

/** Fees a custody account should hold at least, in delegations' typical fees, before a warning. */
export const FEE_CUSHION = 10n;

/**
 * The custody line, by one rule on every chain: failure when the account
 * does not exist or its liquid balance above the reserve cannot pay one
 * delegation's fee; warning when it pays fewer than {@link FEE_CUSHION}, or
 * when everything it holds is below the minimum stake.
 */
export function custodyCheck(address: string, account: CustodyAnswer, limits: ChainLimits, decimals: number, symbol: string, fundHint: string): PreflightCheck {
  const fmt = (v: bigint): string => `${formatUnits(v, decimals)} ${symbol}`;
  if (!account.exists) return check('custody', address, 'failure', 'the account does not exist on chain', fundHint);
  const detail = `liquid ${fmt(account.liquid)}, bonded ${fmt(account.bonded)}`;
  const spendable = account.liquid - limits.reserve;
  if (spendable < limits.typicalFee) {
    return check('custody', address, 'failure', `${detail}: cannot pay a delegation's fee (${fmt(limits.typicalFee)}) above the reserve (${fmt(limits.reserve)})`, fundHint);
  }
  if (spendable < FEE_CUSHION * limits.typicalFee) {
    return check('custody', address, 'warning', `${detail}: pays fewer than ${FEE_CUSHION} transactions' fees (${fmt(limits.typicalFee)} each)`, fundHint);
  }
  if (account.liquid + account.bonded - limits.reserve < limits.minStake + limits.typicalFee) {
    return check('custody', address, 'warning', `${detail}: below the minimum stake (${fmt(limits.minStake)}); nothing is staked until deposits reach it`, fundHint);
  }
  return check('custody', address, 'ok', detail);
}

/** The limits line: what the planner will obey, for a person. */
export function limitsCheck(limits: ChainLimits, decimals: number, symbol: string): PreflightCheck {
  const fmt = (v: bigint): string => `${formatUnits(v, decimals)} ${symbol}`;
  const entries = limits.maxUnbondingEntries === undefined ? 'no limit' : `${limits.maxUnbondingEntries.count} per ${limits.maxUnbondingEntries.per}`;
  return check(
    'limits',
    'limits',
    'ok',
    `minimum stake ${fmt(limits.minStake)}, step ${fmt(limits.step)}, unbonding entries ${entries}, reserve ${fmt(limits.reserve)}, typical fee ${fmt(limits.typicalFee)}`,
  );
}
