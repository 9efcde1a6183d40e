/**
 * The module ABIs the devnet serves at `GET /v1/accounts/0x1/module/{name}`,
 * in the API's `MoveModule` JSON (api/types/src/move_types.rs): the
 * functions of `0x1::delegation_pool` and `0x1::stake` the SDK fetches to
 * build an entry-function call or a view, with their signatures as
 * delegation_pool.move and stake.move declare them (`#[view]` →
 * `is_view`, `public entry` → `is_entry`).
 *
 * A subset: the real modules expose more functions and list their structs;
 * no ABI recorded from a node was at hand, and the bytecode is not served
 * (`0x`). A call to a function missing here fails as on a node where the
 * function does not exist.
 */

export interface AbiFunction {
  name: string;
  visibility: 'public' | 'friend' | 'private';
  is_entry: boolean;
  is_view: boolean;
  generic_type_params: never[];
  params: string[];
  return: string[];
}

const entry = (name: string, params: string[]): AbiFunction => ({ name, visibility: 'public', is_entry: true, is_view: false, generic_type_params: [], params, return: [] });
const view = (name: string, params: string[], ret: string[]): AbiFunction => ({ name, visibility: 'public', is_entry: false, is_view: true, generic_type_params: [], params, return: ret });
const plain = (name: string, params: string[], ret: string[]): AbiFunction => ({ name, visibility: 'public', is_entry: false, is_view: false, generic_type_params: [], params, return: ret });

/** module name → exposed functions. */
export const MODULES: Record<string, AbiFunction[]> = {
  delegation_pool: [
    entry('add_stake', ['&signer', 'address', 'u64']),
    entry('unlock', ['&signer', 'address', 'u64']),
    entry('reactivate_stake', ['&signer', 'address', 'u64']),
    entry('withdraw', ['&signer', 'address', 'u64']),
    entry('synchronize_delegation_pool', ['address']),
    view('get_stake', ['address', 'address'], ['u64', 'u64', 'u64']),
    view('get_pending_withdrawal', ['address', 'address'], ['bool', 'u64']),
    view('get_add_stake_fee', ['address', 'u64'], ['u64']),
    view('can_withdraw_pending_inactive', ['address'], ['bool']),
    view('observed_lockup_cycle', ['address'], ['u64']),
    view('operator_commission_percentage', ['address'], ['u64']),
    view('operator_commission_percentage_next_lockup_cycle', ['address'], ['u64']),
    view('get_delegation_pool_stake', ['address'], ['u64', 'u64', 'u64', 'u64']),
    view('delegation_pool_exists', ['address'], ['bool']),
    view('total_coins_inactive', ['address'], ['u64']),
  ],
  stake: [
    view('get_lockup_secs', ['address'], ['u64']),
    view('get_remaining_lockup_secs', ['address'], ['u64']),
    view('get_stake', ['address'], ['u64', 'u64', 'u64', 'u64']),
    view('get_validator_state', ['address'], ['u64']),
    view('get_operator', ['address'], ['address']),
    view('stake_pool_exists', ['address'], ['bool']),
    // Not #[view] in stake.move: /v1/view refuses it.
    plain('is_current_epoch_validator', ['address'], ['bool']),
  ],
  aptos_account: [entry('transfer', ['&signer', 'address', 'u64'])],
};

/** `GET /v1/accounts/0x1/module/{name}`'s body. */
export function moduleJson(name: string): { bytecode: string; abi: { address: string; name: string; friends: string[]; exposed_functions: AbiFunction[]; structs: unknown[] } } | undefined {
  const functions = MODULES[name];
  if (functions === undefined) return undefined;
  return { bytecode: '0x', abi: { address: '0x1', name, friends: [], exposed_functions: functions, structs: [] } };
}

/** The function's ABI, if the devnet's 0x1 has it. */
export function findFunction(module: string, name: string): AbiFunction | undefined {
  return MODULES[module]?.find((f) => f.name === name);
}
