import { monotonicFactory } from 'ulid'

const ulid = monotonicFactory()

/** Sortable, unique ids: `evt_01J…`, `run_01J…`. Time-ordered, so listings sort by id. */
export function newId(prefix: 'evt' | 'run'): string {
  return `${prefix}_${ulid()}`
}
