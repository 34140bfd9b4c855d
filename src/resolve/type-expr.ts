import {diag, type Diagnostic, type Position} from '../diagnostics/diagnostic.js'
import {didYouMean} from '../diagnostics/did-you-mean.js'
import {isNumeric, isTime} from './comparisons.js'
import type {Entity, Expr, ExprFunction, Trait, ValueType} from './model.js'
import type {ExprAst} from './parse-expr.js'

interface Env {
  trait(name: string): Trait | undefined
  isKnownTrait(name: string): boolean
  brokenTrait(name: string): boolean
  entities: ReadonlyMap<string, Entity>
  suggestions(): string[]
  at(offset: number): Position
  out: Diagnostic[]
}

const FUNCTIONS: Record<ExprFunction, {min: number; max: number}> = {
  coalesce: {min: 1, max: Infinity},
  nullif: {min: 2, max: 2},
  least: {min: 1, max: Infinity},
  greatest: {min: 1, max: Infinity},
  abs: {min: 1, max: 1},
  round: {min: 1, max: 2},
  floor: {min: 1, max: 1},
  ceil: {min: 1, max: 1},
  days_since: {min: 1, max: 1},
  hours_since: {min: 1, max: 1},
}

/** Types an expression and finds the one entity it is about. */
export function typeExpr(ast: ExprAst, env: Env): {expr: Expr; type: ValueType; entity: string} | undefined {
  const entities = new Set<string>()
  const before = env.out.length
  const fail = (at: number, code: Diagnostic['code'], message: string) => {
    env.out.push(diag(code, env.at(at), message))
    return undefined
  }
  const visit = (n: ExprAst): {expr: Expr; type: ValueType} | undefined => {
    switch (n.kind) {
      case 'number':
        return {expr: {kind: 'number', value: n.value}, type: Number.isInteger(n.value) ? 'integer' : 'number'}
      case 'ident': {
        if (env.isKnownTrait(n.name)) {
          const t = env.trait(n.name)
          if (!t) return undefined
          entities.add(t.entity)
          return {expr: {kind: 'ref', name: n.name, target: 'trait', type: t.type}, type: t.type}
        }
        const owners = [...env.entities.values()].filter((e) => e.attributes.has(n.name))
        if (owners.length === 1) {
          entities.add(owners[0]!.name)
          const type = owners[0]!.attributes.get(n.name)!.type
          return {expr: {kind: 'ref', name: n.name, target: 'attribute', type}, type}
        }
        if (owners.length > 1) return fail(n.at, 'entity_mismatch', `'${n.name}' is an attribute of ${owners.map((o) => o.name).join(' and ')}; wrap it in a trait of one entity`)
        if (env.brokenTrait(n.name)) return undefined
        return fail(n.at, 'unknown_trait', `'${n.name}' is neither a trait nor an attribute${didYouMean(n.name, env.suggestions())}`)
      }
      case 'neg': {
        const o = visit(n.operand)
        if (!o) return undefined
        if (!isNumeric(o.type)) return fail(n.at, 'type_mismatch', `cannot negate a ${o.type}`)
        return {expr: {kind: 'neg', operand: o.expr}, type: o.type}
      }
      case 'binary': {
        const l = visit(n.left)
        const r = visit(n.right)
        if (!l || !r) return undefined
        if (!isNumeric(l.type) || !isNumeric(r.type)) {
          const bad = isNumeric(l.type) ? r.type : l.type
          return fail(n.at, 'type_mismatch', `'${n.op}' needs numbers, not a ${bad}${isTime(bad) ? ' (use days_since or hours_since for elapsed time)' : ''}`)
        }
        const type: ValueType = n.op !== '/' && l.type === 'integer' && r.type === 'integer' ? 'integer' : 'number'
        return {expr: {kind: 'binary', op: n.op, left: l.expr, right: r.expr}, type}
      }
      case 'call': {
        const fn = n.fn.toLowerCase() as ExprFunction
        const sig = FUNCTIONS[fn]
        if (!sig) return fail(n.at, 'unknown_function', `unknown function '${n.fn}'${didYouMean(n.fn, Object.keys(FUNCTIONS))}; segc knows ${Object.keys(FUNCTIONS).join(', ')}`)
        if (n.args.length < sig.min || n.args.length > sig.max) {
          const want = sig.min === sig.max ? `${sig.min}` : sig.max === Infinity ? `at least ${sig.min}` : `${sig.min} to ${sig.max}`
          return fail(n.at, 'expr_syntax', `${fn} takes ${want} argument${sig.max === 1 ? '' : 's'}, not ${n.args.length}`)
        }
        const args = n.args.map(visit)
        if (args.some((a) => !a)) return undefined
        const typed = args as Array<{expr: Expr; type: ValueType}>
        const expr: Expr = {kind: 'call', fn, args: typed.map((a) => a.expr)}
        if (fn === 'days_since' || fn === 'hours_since') {
          if (!isTime(typed[0]!.type)) return fail(n.at, 'type_mismatch', `${fn} needs a timestamp or date, not a ${typed[0]!.type}`)
          return {expr, type: 'integer'}
        }
        if (fn === 'coalesce' || fn === 'least' || fn === 'greatest' || fn === 'nullif') {
          const types = new Set(typed.map((a) => a.type))
          if (types.size > 1 && ![...types].every(isNumeric)) {
            return fail(n.at, 'type_mismatch', `${fn} needs arguments of one type, not ${[...types].join(' and ')}`)
          }
          const t = typed[0]!.type
          return {expr, type: isNumeric(t) ? ([...types].every((x) => x === 'integer') ? 'integer' : 'number') : t}
        }
        if (fn === 'round' && typed[1] && !(n.args[1]!.kind === 'number' && Number.isInteger((n.args[1] as {value: number}).value))) {
          return fail(n.args[1]!.at, 'type_mismatch', 'round takes a whole number of digits')
        }
        const bad = typed.find((a) => !isNumeric(a.type))
        if (bad) return fail(n.at, 'type_mismatch', `${fn} needs a number, not a ${bad.type}`)
        return {expr, type: fn === 'abs' ? typed[0]!.type : 'number'}
      }
    }
  }
  const result = visit(ast)
  if (!result || env.out.length > before) return undefined
  if (entities.size !== 1) {
    env.out.push(diag(entities.size ? 'entity_mismatch' : 'bad_value', env.at(0), entities.size ? `the expression mixes entities ${[...entities].join(' and ')}` : 'the expression names no trait or attribute, so it belongs to no entity'))
    return undefined
  }
  return {...result, entity: [...entities][0]!}
}
