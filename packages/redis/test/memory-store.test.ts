// The shared store contract against core's MemoryStore: the reference RedisStore must match.
import { MemoryStore } from '@httpauth/core';
import { storeContract } from './store-contract.js';

storeContract('MemoryStore', async () => {
  const store = new MemoryStore();
  return { store, dispose: () => store.close() };
});
