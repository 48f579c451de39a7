import type { BackOfficeStore } from '../ports/back-office-store.js';
import { toDecimal } from '../../translate/decimal.js';
import type { SalesLedger } from '../ledger.js';
import { Figures, cashBalance, type BalanceMovement, type CashBalance, type Money } from '../reports.js';
import { carryBefore, type Days } from './days.js';
import type { Registers } from './registers.js';

export interface BalanceView extends CashBalance {
  cashRegisterName: string;
  dayId: string | null;
}

export interface CashOptions {
  registers: Registers;
  days: Days;
  ledger: SalesLedger;
  store: BackOfficeStore;
  money: Money;
  now: () => Date;
  /** After a movement: presence is written along with it. */
  savePresence: () => void;
}

/** The cash in a register's drawer: movements (pay in, pay out, …) of the open day and the expected balance. */
export class Cash {
  constructor(private readonly opts: CashOptions) {}

  moveCash(
    register: string,
    action: BalanceMovement['action'],
    amount: number,
    note: string,
    by: string,
  ): Promise<{ movement: BalanceMovement; balance: BalanceView }> {
    return this.opts.ledger.exclusive(async () => {
      const reg = this.opts.registers.known(register);
      const now = this.opts.now();
      const day = this.opts.days.openDay(reg, now);
      const movement: BalanceMovement = {
        id: `${reg.name}:${reg.movementCount + 1}`,
        cashRegisterName: reg.name,
        dayId: day.dayId,
        action,
        amount: toDecimal(amount).toNumber(),
        note,
        at: now.toISOString(),
        by,
      };
      await this.opts.store.putMovement(movement);
      reg.movementCount++;
      day.movements.push(movement);
      reg.version++;
      this.opts.savePresence();
      return { movement, balance: this.balance(register) };
    });
  }

  balance(register: string): BalanceView {
    const reg = this.opts.registers.known(register);
    const day = reg.open;
    const carry = carryBefore(reg, day?.dayNo ?? reg.lastDayNo + 1);
    const balance = cashBalance(carry.cash, day?.movements ?? [], day?.figures ?? new Figures(), this.opts.money);
    return { cashRegisterName: reg.name, dayId: day?.dayId ?? null, ...balance };
  }
}
