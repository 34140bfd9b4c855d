#!/usr/bin/env node
import {execute} from '@oclif/core'

// Warehouse SDKs print Node warnings (deprecations, metadata lookups) that are not segc's to show.
if (!process.env.SEGC_DEBUG) {
  process.removeAllListeners('warning')
  process.on('warning', () => {})
}

await execute({dir: import.meta.url})
