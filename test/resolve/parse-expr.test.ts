import {describe, expect, it} from 'vitest'
import {ExprSyntaxError, parseExpr} from '../../src/resolve/parse-expr.js'
import {parseDuration, parseTime} from '../../src/resolve/time.js'

describe('expression parser', () => {
  it('respects precedence and associativity', () => {
    const ast = parseExpr('a - b - c * d / 2')
    // ((a - b) - ((c * d) / 2))
    expect(ast).toMatchObject({kind: 'binary', op: '-', left: {kind: 'binary', op: '-'}, right: {kind: 'binary', op: '/', left: {kind: 'binary', op: '*'}}})
  })
  it('parses calls, unary minus and numbers', () => {
    expect(parseExpr('round(-x, 2)')).toMatchObject({kind: 'call', fn: 'round', args: [{kind: 'neg', operand: {kind: 'ident', name: 'x'}}, {kind: 'number', value: 2}]})
    expect(parseExpr('1.5e3')).toMatchObject({kind: 'number', value: 1500})
  })
  it.each([
    ['a +', 3, 'unexpected end of expression'],
    ['a b', 2, "unexpected 'b' after a complete expression"],
    ['f(a,', 4, 'unexpected end of expression'],
    ['a ; drop', 2, "unexpected character ';'"],
    ["x || 'y'", 2, "unexpected character '|'"],
  ])('rejects %j at offset %i', (src, offset, message) => {
    try {
      parseExpr(src)
      expect.unreachable()
    } catch (e) {
      expect(e).toBeInstanceOf(ExprSyntaxError)
      expect((e as ExprSyntaxError).offset).toBe(offset)
      expect((e as ExprSyntaxError).message).toBe(message)
    }
  })
  it('refuses absurd nesting instead of overflowing the stack', () => {
    expect(() => parseExpr('('.repeat(5000) + '1' + ')'.repeat(5000))).toThrow(ExprSyntaxError)
  })
})

describe('times and durations', () => {
  it.each([
    ['30d', 2_592_000],
    ['15min', 900],
    ['2h', 7200],
    ['1w', 604_800],
    ['45s', 45],
  ])('%s is %i seconds', (text, seconds) => expect(parseDuration(text)).toBe(seconds))
  it.each(['30', 'd', '1.5d', '-3d', '30 days', '3m'])('rejects duration %j', (t) => expect(parseDuration(t)).toBeUndefined())
  it('reads ISO dates and timestamps as UTC, and relative times', () => {
    expect(parseTime('2026-01-01')).toEqual({kind: 'absolute', iso: '2026-01-01T00:00:00.000Z', dateOnly: true})
    expect(parseTime('2026-01-01T08:00:00+02:00')).toEqual({kind: 'absolute', iso: '2026-01-01T06:00:00.000Z', dateOnly: false})
    expect(parseTime('2026-01-01 08:00')).toEqual({kind: 'absolute', iso: '2026-01-01T08:00:00.000Z', dateOnly: false})
    expect(parseTime('-30d')).toEqual({kind: 'relative', seconds: -2_592_000})
    expect(parseTime('+2h')).toEqual({kind: 'relative', seconds: 7200})
  })
  it.each(['2026-02-30', '2026-13-01', 'yesterday', '01/02/2026', '-30'])('rejects time %j', (t) => expect(parseTime(t)).toBeUndefined())
})
