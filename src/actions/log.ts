import { z } from '../zod.js'
import { definePlugin } from '../plugin.js'
import { redact } from '../redact.js'

const input = z.record(z.string(), z.unknown()).describe('Anything; a `message` string becomes the log line.')

type Input = z.output<typeof input>

export default definePlugin<Input>({
  name: 'log',
  description: 'Write the rendered input to the log (a first recipe, or a trace between steps).',
  input,
  escape: 'none',
  async run(input, ctx) {
    ctx.log.info({ input }, typeof input.message === 'string' && input.message ? input.message : 'log step')
    // The result is what the log shows: masked, as every logged input is (it is stored with the run).
    return redact(input)
  },
  preview(input) {
    return input
  },
})
