import { strict as assert } from "node:assert";
import { buildAwsClients } from "../checker/aws/clients";
import { SdkEcs } from "../checker/aws/ecs";
import { moto } from "./support/root-hooks";
import { World } from "./support/world";

describe("ECS going-away listing against moto", function () {
  this.timeout(30_000);

  it("lists the tasks ECS is stopping, and only those", async () => {
    await moto().reset();
    const world = await new World().init("going-away.local");
    const ids = await world.runTasks("api", 3);
    await world.stopTask(ids[1]!);
    const ecs = new SdkEcs(buildAwsClients({ maxAttempts: 2 }).ecs);
    assert.deepEqual(await ecs.listGoingAway([world.cluster]), new Set([ids[1]]));
  });

  it("says it does not know when a cluster cannot be listed", async () => {
    const ecs = new SdkEcs(buildAwsClients({ maxAttempts: 1 }).ecs);
    assert.equal(await ecs.listGoingAway(["no-such-cluster"]), undefined);
  });
});
