import type { ResolvedConfig } from '../types.js'
import { createSqliteStore } from './sqlite.js'
import type { Store } from './store.js'

/** The store named by the config. One place to add a driver. */
export function createStore(config: Pick<ResolvedConfig, 'store'>): Store {
  switch (config.store.driver) {
    case 'sqlite':
      return createSqliteStore({ path: config.store.path })
  }
}
