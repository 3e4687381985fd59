/**
 * The seed's BankAccount, as the event sourcing tests use it.
 *
 * @module
 */

import type { Aggregate } from "../../src/event_sourcing/aggregate.ts";

/** An account's state. */
export interface Account {
  id: string | null;
  balance: number;
}

/** The commands. */
export type AccountCommand =
  | { type: "OpenAccount"; accountId: string; initialBalance: number }
  | { type: "Deposit"; accountId: string; amount: number }
  | { type: "Withdraw"; accountId: string; amount: number };

/** The events. */
export type AccountEvent =
  | { type: "AccountOpened"; accountId: string; initialBalance: number }
  | { type: "MoneyDeposited"; accountId: string; amount: number }
  | { type: "MoneyWithdrawn"; accountId: string; amount: number };

/** BankAccount with an optional snapshot interval. */
export function bankAccount(
  snapshotEvery?: number,
): Aggregate<Account, AccountCommand, AccountEvent> {
  return {
    name: "BankAccount",
    ...(snapshotEvery !== undefined ? { snapshotEvery } : {}),
    initial: () => ({ id: null, balance: 0 }),
    execute(state, command) {
      switch (command.type) {
        case "OpenAccount":
          if (state.id !== null) return new Error("Account already opened");
          return {
            type: "AccountOpened",
            accountId: command.accountId,
            initialBalance: command.initialBalance,
          };
        case "Deposit":
          if (state.id === null) return new Error("Account not opened");
          if (!(command.amount > 0)) return new Error("Amount must be positive");
          return { type: "MoneyDeposited", accountId: command.accountId, amount: command.amount };
        case "Withdraw":
          if (state.id === null) return new Error("Account not opened");
          if (command.amount > state.balance) return new Error("Insufficient funds");
          return { type: "MoneyWithdrawn", accountId: command.accountId, amount: command.amount };
      }
    },
    apply(state, event) {
      switch (event.type) {
        case "AccountOpened":
          return { id: event.accountId, balance: event.initialBalance };
        case "MoneyDeposited":
          return { ...state, balance: state.balance + event.amount };
        case "MoneyWithdrawn":
          return { ...state, balance: state.balance - event.amount };
      }
    },
  };
}

/** The commands BankAccount handles. */
export const ACCOUNT_COMMANDS = ["OpenAccount", "Deposit", "Withdraw"];
