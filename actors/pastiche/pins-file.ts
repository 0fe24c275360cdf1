/**
 * The pins of a store, kept across restarts in `<dir>/pins.json` (`{"version":1,"pins":[hash…]}`),
 * written as every durable file of crux is: temp file, fsync, rename, fsync of the directory, so a
 * crash leaves the old list or the new one, never a torn file.
 */
import { open, readFile, rename } from 'node:fs/promises'
import { dirname } from 'node:path'
import { DataDirError } from '../../runtime/errors.js'
import { parseHash } from './hash.js'
import { BadHashError } from './errors.js'

/** Reads the pins (an absent file: none). A damaged file is a {@link DataDirError}, not an empty list. */
export async function readPins(file: string): Promise<string[]> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw err
  }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw new DataDirError(file, 'not valid JSON')
  }
  const pins = (value as { pins?: unknown } | null)?.pins
  if ((value as { version?: unknown } | null)?.version !== 1 || !Array.isArray(pins)) throw new DataDirError(file, 'not {"version":1,"pins":[…]}')
  try {
    return pins.map((p) => parseHash(p))
  } catch (err) {
    if (err instanceof BadHashError) throw new DataDirError(file, err.message)
    throw err
  }
}

let seq = 0

/** Replaces the pins file durably. */
export async function writePins(file: string, pins: Iterable<string>): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}-${seq++}`
  const fh = await open(tmp, 'w', 0o600)
  try {
    await fh.writeFile(JSON.stringify({ version: 1, pins: [...pins].sort() }) + '\n')
    await fh.sync()
  } finally {
    await fh.close()
  }
  await rename(tmp, file)
  const dh = await open(dirname(file), 'r')
  try {
    await dh.sync()
  } finally {
    await dh.close()
  }
}
