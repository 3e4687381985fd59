/**
 * The rpc module (`weft --load`) the multi-node BankAccount test calls on
 * each real node: a command router for the seed's BankAccount on the node's
 * event store, with a quorum of 2 of the 3 nodes.
 *
 * @module
 */

import { eventSourcingOf } from "../../src/event_sourcing/event_sourcing.ts";
import { CommandRouter } from "../../src/event_sourcing/router.ts";
import { globalNamesOf } from "../../src/global/name_server.ts";
import { current } from "../../src/process/current.ts";
import {
  ACCOUNT_COMMANDS,
  type AccountCommand,
  bankAccount,
} from "../event_sourcing/bank_account.ts";

/** The module's name for rpc. */
export const name = "bank";

let router: Promise<CommandRouter> | undefined;

function routerHere(): Promise<CommandRouter> {
  const runtime = current().runtime;
  router ??= (async () =>
    new CommandRouter({
      store: await eventSourcingOf(runtime).store(),
      runtime,
      quorum: 2,
      idleTimeout: 600_000,
    }).register(bankAccount(), { commands: ACCOUNT_COMMANDS, identity: "accountId" }))();
  return router;
}

/** Dispatches a command; `{ ok: version }` or `{ error: "Name: message" }`. */
export async function dispatch(
  command: AccountCommand,
  causationId: string,
): Promise<{ ok: number } | { error: string }> {
  try {
    const r = await (await routerHere()).dispatch(command, { causationId, timeout: 8000 });
    return { ok: r.version };
  } catch (e) {
    return { error: `${(e as Error).name}: ${(e as Error).message}` };
  }
}

/** The node whose process holds the global name of account `id`'s instance, as this node sees it. */
export function holder(id: string): string | null {
  return globalNamesOf(current().runtime).whereis(`es:BankAccount:${id}`)?.node ?? null;
}
