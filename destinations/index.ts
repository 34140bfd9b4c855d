// Every destination segc can push to, by the `type:` of segc.yaml's destinations. Each folder
// holds one destination and is the only place its SDK is imported.
import type {DestinationType} from '../src/sync/destination.js'
import {file} from './file/index.js'
import {hubspot} from './hubspot/index.js'
import {klaviyo} from './klaviyo/index.js'
import {postgres} from './postgres/index.js'
import {webhook} from './webhook/index.js'

const DESTINATIONS: Record<string, DestinationType> = {webhook, file, postgres, klaviyo, hubspot}

export function destinationFor(type: string): DestinationType | undefined {
  return DESTINATIONS[type]
}
