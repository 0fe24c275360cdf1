/**
 * Where the service bootstrap (service-child.mjs) is. The fulcrum runs either from tsc's output (this
 * module is dist/actors/picket/bootstrap.js) or from the one-file bundle (dist/bin/crux.bundle.mjs,
 * where `import.meta.url` is the bundle's). The build puts a copy of the bootstrap beside each, under
 * one name, so `./service-child.mjs` next to the running module is it in both cases.
 */
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { NotFoundError } from '../../runtime/errors.js'

/** The bootstrap's file name, beside the module that spawns services. */
export const BOOTSTRAP_NAME = 'service-child.mjs'

/** The bootstrap's path beside the module at `from` (default: this one); throws NotFoundError if the build left it out. */
export function bootstrapFile(from: string = import.meta.url): string {
  const file = fileURLToPath(new URL(`./${BOOTSTRAP_NAME}`, from))
  if (!existsSync(file)) throw new NotFoundError(`the service bootstrap ${file} is missing (npm run build makes it)`)
  return file
}
