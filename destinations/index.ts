// Every destination segc can push to, by the `type:` of segc.yaml's destinations. Each folder
// holds one destination and is the only place its SDK is imported. They load on first use:
// the vendors' SDKs take longer to load than a small sync takes to run, so a sync to a
// webhook (or a `segc forget` with nothing to send) never loads Klaviyo's or HubSpot's.
import type {DestinationType} from '../src/destination/destination.js'

const LOADERS: Record<string, () => Promise<DestinationType>> = {
  webhook: async () => (await import('./webhook/index.js')).webhook,
  file: async () => (await import('./file/index.js')).file,
  postgres: async () => (await import('./postgres/index.js')).postgres,
  klaviyo: async () => (await import('./klaviyo/index.js')).klaviyo,
  hubspot: async () => (await import('./hubspot/index.js')).hubspot,
}

export function hasDestination(type: string): boolean {
  return Object.hasOwn(LOADERS, type)
}

export async function destinationFor(type: string): Promise<DestinationType | undefined> {
  return hasDestination(type) ? LOADERS[type]!() : undefined
}
