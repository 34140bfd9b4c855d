import {explainSegment} from '../explain/explain.js'
import {definitionOf, type NameSite} from '../resolve/name-index.js'
import {profileTable} from '../resolve/resolve-profile.js'
import type {Analysis} from './analysis.js'
import type {Cursor} from './cursor.js'
import type {SegmentSize} from './size-reader.js'

/** The name under the cursor as the index keys it (a `value` operand becomes a trait or an attribute). */
export function siteAtCursor(cursor: Cursor, analysis: Analysis): Pick<NameSite, 'kind' | 'name' | 'scope'> | undefined {
  const role = cursor.role
  if (!role || cursor.word.text === '') return undefined
  const name = cursor.word.text
  if (role.kind === 'value') {
    if (analysis.index.definitions.has(`trait::${name}`)) return {kind: 'trait', name}
    const entity = role.entity ?? [...analysis.index.attributes].find(([, a]) => a.includes(name))?.[0]
    return {kind: 'attribute', name, ...(entity ? {scope: entity} : {})}
  }
  const scope = role.kind === 'property' ? role.event : role.kind === 'attribute' ? role.entity : undefined
  return {kind: role.kind, name, ...(scope ? {scope} : {})}
}

const MAX_SOURCE_LINES = 25

/** Markdown for a hover: what the name is, its definition and, for a segment, its rule in plain English and its size. */
export function hoverText(analysis: Analysis, site: Pick<NameSite, 'kind' | 'name' | 'scope'>, size?: SegmentSize): string | undefined {
  const p = analysis.validated.project
  const def = definitionOf(analysis.index, site)
  const lines: string[] = []
  const entityOf = analysis.index.entityOf
  switch (site.kind) {
    case 'segment': {
      const s = p.segments.get(site.name)
      lines.push(`**segment** \`${site.name}\`${entityOf.get(`segment:${site.name}`) ? ` of ${entityOf.get(`segment:${site.name}`)}` : ''}`)
      if (s?.description) lines.push('', s.description)
      if (s) lines.push('', explainSegment(p, site.name))
      else if (def) lines.push('', '_(not resolved: the definition has errors)_')
      if (size) lines.push('', `**${size.size.toLocaleString('en-US')}** members at the last successful run (as_of ${size.asOf})`)
      break
    }
    case 'group': {
      const g = p.groups.get(site.name)
      lines.push(`**group** \`${site.name}\``)
      if (g) lines.push('', `segments in priority order: ${g.segments.join(', ')}`)
      break
    }
    case 'trait': {
      const t = p.traits.get(site.name)
      lines.push(`**trait** \`${site.name}\`${t ? `: ${t.type} of ${t.entity}` : ''}${t?.label ? ` — ${t.label}` : ''}`)
      // where a sync's trait field reads it from: only a published trait can be sent
      if (t && p.entities.get(t.entity)?.profile?.some((x) => x.trait === site.name)) lines.push('', `published: column \`${site.name}\` of \`${profileTable(t.entity)}\` (the entity's profile), sendable as a sync field`)
      break
    }
    case 'event': {
      const e = p.events.get(site.name)
      lines.push(`**event** \`${site.name}\`${e ? ` of ${e.entity}` : ''}${e?.label ? ` — ${e.label}` : ''}`)
      if (e) lines.push('', `properties: ${[...e.properties.keys()].join(', ') || '(none)'}`)
      break
    }
    case 'entity': {
      const e = p.entities.get(site.name)
      lines.push(`**entity** \`${site.name}\`${e?.label ? ` — ${e.label}` : ''}`)
      if (e) lines.push('', `key \`${e.key}\`; attributes: ${[...e.attributes.keys()].join(', ') || '(none)'}`)
      break
    }
    case 'attribute': {
      const a = site.scope ? p.entities.get(site.scope)?.attributes.get(site.name) : undefined
      lines.push(`**attribute** \`${site.name}\`${site.scope ? ` of ${site.scope}` : ''}${a ? `: ${a.type}${a.sensitive ? ' (sensitive)' : ''}` : ''}`)
      break
    }
    case 'property': {
      const e = site.scope ? p.events.get(site.scope) : undefined
      const prop = site.name === 'timestamp' && e ? {type: 'timestamp'} : e?.properties.get(site.name)
      lines.push(`**property** \`${site.name}\`${site.scope ? ` of event ${site.scope}` : ''}${prop ? `: ${prop.type}` : ''}`)
      break
    }
  }
  if (!def && lines.length <= 1 && site.kind !== 'property') lines.push('', `_no ${site.kind} \`${site.name}\` is defined_`)
  const source = def ? definitionSource(analysis, def) : undefined
  if (source) lines.push('', '```yaml', source, '```', `${def!.file}`)
  return lines.join('\n')
}

function definitionSource(analysis: Analysis, def: NameSite): string | undefined {
  const file = analysis.files.get(def.file)
  if (!file || !def.span) return undefined
  const lineStart = file.text.lastIndexOf('\n', def.span[0] - 1) + 1
  const text = file.text.slice(lineStart, def.span[1]).replace(/\s+$/, '')
  const lines = text.split('\n')
  return lines.length > MAX_SOURCE_LINES ? [...lines.slice(0, MAX_SOURCE_LINES), '  # …'].join('\n') : text
}
