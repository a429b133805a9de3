import type { ActionPlugin } from './types.js'

/**
 * Declare an action plugin. An identity function that gives the plugin its
 * types; the built-in actions are written with it too.
 */
export function definePlugin<I = Record<string, unknown>, S = Record<string, unknown>>(plugin: ActionPlugin<I, S>): ActionPlugin<I, S> {
  return plugin
}
