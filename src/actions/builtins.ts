import type { ActionPlugin } from '../types.js'
import email from './email.js'
import exec from './exec.js'
import http from './http.js'
import log from './log.js'
import slack from './slack.js'

/** The actions every config has, written like users' plugins. */
export const builtinActions: ActionPlugin[] = [slack, http, email, exec, log]
