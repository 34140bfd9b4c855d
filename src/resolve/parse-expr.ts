// A small recursive-descent parser for `expr` traits. Expressions are parsed, typed and
// rebuilt as SQL by segc, so nothing a YAML author writes is ever pasted into SQL.

export type ExprAst =
  | {kind: 'number'; value: number; at: number}
  | {kind: 'ident'; name: string; at: number}
  | {kind: 'neg'; operand: ExprAst; at: number}
  | {kind: 'binary'; op: '+' | '-' | '*' | '/'; left: ExprAst; right: ExprAst; at: number}
  | {kind: 'call'; fn: string; args: ExprAst[]; at: number}

export class ExprSyntaxError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message)
  }
}

interface Token {
  kind: 'number' | 'ident' | 'op' | 'end'
  text: string
  at: number
}

const MAX_DEPTH = 200

function tokenize(src: string): Token[] {
  const tokens: Token[] = []
  let i = 0
  while (i < src.length) {
    const c = src[i]!
    if (/\s/.test(c)) {
      i++
      continue
    }
    const num = /^(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?/.exec(src.slice(i))
    if (num) {
      tokens.push({kind: 'number', text: num[0], at: i})
      i += num[0].length
      continue
    }
    const id = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i))
    if (id) {
      tokens.push({kind: 'ident', text: id[0], at: i})
      i += id[0].length
      continue
    }
    if ('+-*/(),'.includes(c)) {
      tokens.push({kind: 'op', text: c, at: i})
      i++
      continue
    }
    throw new ExprSyntaxError(`unexpected character '${c}'`, i)
  }
  tokens.push({kind: 'end', text: '', at: src.length})
  return tokens
}

export function parseExpr(src: string): ExprAst {
  const tokens = tokenize(src)
  let pos = 0
  let depth = 0
  const peek = () => tokens[pos]!
  const next = () => tokens[pos++]!
  const expect = (text: string) => {
    const t = next()
    if (t.text !== text) throw new ExprSyntaxError(t.kind === 'end' ? `expected '${text}' before the end` : `expected '${text}', found '${t.text}'`, t.at)
  }
  const enter = (at: number) => {
    if (++depth > MAX_DEPTH) throw new ExprSyntaxError(`expression nested deeper than ${MAX_DEPTH}`, at)
  }

  function additive(): ExprAst {
    let left = multiplicative()
    while (peek().text === '+' || peek().text === '-') {
      const op = next()
      left = {kind: 'binary', op: op.text as '+' | '-', left, right: multiplicative(), at: op.at}
    }
    return left
  }
  function multiplicative(): ExprAst {
    let left = unary()
    while (peek().text === '*' || peek().text === '/') {
      const op = next()
      left = {kind: 'binary', op: op.text as '*' | '/', left, right: unary(), at: op.at}
    }
    return left
  }
  function unary(): ExprAst {
    const t = peek()
    if (t.text === '-' || t.text === '+') {
      next()
      enter(t.at)
      const operand = unary()
      depth--
      return t.text === '-' ? {kind: 'neg', operand, at: t.at} : operand
    }
    return primary()
  }
  function primary(): ExprAst {
    const t = next()
    if (t.kind === 'number') return {kind: 'number', value: Number(t.text), at: t.at}
    if (t.kind === 'ident') {
      if (peek().text !== '(') return {kind: 'ident', name: t.text, at: t.at}
      next()
      enter(t.at)
      const args: ExprAst[] = []
      if (peek().text !== ')') {
        args.push(additive())
        while (peek().text === ',') {
          next()
          args.push(additive())
        }
      }
      expect(')')
      depth--
      return {kind: 'call', fn: t.text, args, at: t.at}
    }
    if (t.text === '(') {
      enter(t.at)
      const inner = additive()
      expect(')')
      depth--
      return inner
    }
    throw new ExprSyntaxError(t.kind === 'end' ? 'unexpected end of expression' : `unexpected '${t.text}'`, t.at)
  }

  const ast = additive()
  const rest = peek()
  if (rest.kind !== 'end') throw new ExprSyntaxError(`unexpected '${rest.text}' after a complete expression`, rest.at)
  return ast
}
