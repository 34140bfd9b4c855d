import {readFileSync} from 'node:fs'

/** segc's own version, from package.json (recorded in segment_runs). */
export const SEGC_VERSION: string = (() => {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {version: string}).version
  } catch {
    return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {version: string}).version
  }
})()
