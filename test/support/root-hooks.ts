// Mocha root hooks: one moto for the whole run, with the SDK pointed at it through the
// standard environment variables (as the checker would be in production).

import { pointSdkAt, startMoto, type Moto } from "./moto";

let instance: Moto | undefined;

/** The run's moto. Only valid inside tests and hooks. */
export function moto(): Moto {
  if (!instance) throw new Error("moto is not running (root hook not loaded?)");
  return instance;
}

export const mochaHooks = {
  async beforeAll(this: Mocha.Context): Promise<void> {
    this.timeout(60_000);
    instance = await startMoto();
    pointSdkAt(instance);
  },
  async afterAll(this: Mocha.Context): Promise<void> {
    this.timeout(10_000);
    await instance?.stop();
    instance = undefined;
  },
};
