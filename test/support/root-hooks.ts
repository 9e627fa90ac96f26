// Mocha root hooks: one moto for the whole run, with the SDK pointed at it through the
// standard environment variables (as the checker would be in production).

import { startMoto, type Moto } from "./moto";

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
    process.env["AWS_ENDPOINT_URL"] = instance.endpoint;
    process.env["AWS_REGION"] = "us-east-1";
    process.env["AWS_ACCESS_KEY_ID"] = "testing";
    process.env["AWS_SECRET_ACCESS_KEY"] = "testing";
    // Nothing from the developer's own AWS setup may leak into the tests.
    for (const name of [
      "AWS_PROFILE",
      "AWS_SESSION_TOKEN",
      "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
      "AWS_ENDPOINT_URL_SERVICEDISCOVERY",
      "AWS_ENDPOINT_URL_ECS",
      "AWS_ENDPOINT_URL_EC2",
      "AWS_ENDPOINT_URL_STS",
    ]) {
      delete process.env[name];
    }
  },
  async afterAll(this: Mocha.Context): Promise<void> {
    this.timeout(10_000);
    await instance?.stop();
    instance = undefined;
  },
};
