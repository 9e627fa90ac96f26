// Mocha root hooks: one moto for the whole run, with the SDK pointed at it through the
// standard environment variables (as the checker would be in production).

import { startMoto, type Moto } from "./moto";

let instance: Moto | undefined;

/** The run's moto. Only valid inside tests. */
export function moto(): Moto {
  if (!instance) throw new Error("moto is not running (root hook not loaded?)");
  return instance;
}

export const mochaHooks = {
  async beforeAll(this: Mocha.Context): Promise<void> {
    this.timeout(60_000);
    instance = await startMoto();
    process.env["AWS_ENDPOINT_URL"] = instance.endpoint;
    process.env["AWS_REGION"] = "us-east-1";
    process.env["AWS_ACCESS_KEY_ID"] = "testing";
    process.env["AWS_SECRET_ACCESS_KEY"] = "testing";
    delete process.env["AWS_PROFILE"];
    delete process.env["AWS_SESSION_TOKEN"];
  },
  async afterAll(this: Mocha.Context): Promise<void> {
    this.timeout(10_000);
    await instance?.stop();
    instance = undefined;
  },
};
