// In-memory StateStore: records vanish with the process. A durable store implements the
// same interface so removed instances survive restarts.

import type { InstanceState } from "../domain/types";
import type { StateStore } from "../ports";

export class MemoryStateStore implements StateStore {
  private readonly records = new Map<string, Map<string, InstanceState>>();

  async load(namespaceId: string): Promise<Map<string, InstanceState>> {
    return new Map(this.records.get(namespaceId) ?? []);
  }

  async put(namespaceId: string, state: InstanceState): Promise<void> {
    let ns = this.records.get(namespaceId);
    if (!ns) this.records.set(namespaceId, (ns = new Map()));
    ns.set(state.key, state);
  }

  async delete(namespaceId: string, key: string): Promise<void> {
    this.records.get(namespaceId)?.delete(key);
  }
}
