/**
 * The integer grammar of what chains and checkpoints send as decimal
 * strings (yoctoNEAR balances, uatom principal, block heights): canonical
 * (no sign on 0, no leading zeros) and at most 78 digits, so it fits the
 * ledger's NUMERIC(78,0). One place, for every adapter.
 */
import * as z from 'zod';

/** An unsigned decimal integer string → bigint. */
export const uintString = z.string().regex(/^(0|[1-9][0-9]{0,77})$/).transform(BigInt);

/** A signed decimal integer string → bigint. */
export const intString = z.string().regex(/^-?(0|[1-9][0-9]{0,77})$/).transform(BigInt);
