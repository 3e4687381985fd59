/**
 * The rpc module (`weft --load`) of the real-process singleton subscription
 * test: each node joins the cluster-wide subscription "mailer" and records
 * the `$all` positions it handled.
 *
 * @module
 */

import { eventSourcingOf } from "../../src/event_sourcing/event_sourcing.ts";
import type { SingletonSubscription } from "../../src/event_sourcing/singleton_subscription.ts";
import { current } from "../../src/process/current.ts";

/** The module's name for rpc. */
export const name = "mailer";

let sub: Promise<SingletonSubscription> | undefined;
const handled: number[] = [];

/** Joins the singleton subscription "mailer" on this node (once). */
export async function join(): Promise<true> {
  sub ??= eventSourcingOf(current().runtime).subscribe("mailer", (events) => {
    for (const e of events) handled.push(e.globalPosition);
  }, { pollInterval: 50 });
  await sub;
  return true;
}

/** Whether it runs here, and what it handled here. */
export async function status(): Promise<{ active: boolean; handled: number[] }> {
  return { active: (await sub)?.isActive ?? false, handled: [...handled] };
}
