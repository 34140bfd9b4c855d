/**
 * A glob as editors read it (VS Code, yaml-language-server): `**\/` is zero or more folders, `*`
 * stays inside one name, `{a,b}` is either. Written for the tests, independent of segc's code.
 */
export function globMatches(glob: string, path: string): boolean {
  return new RegExp(`^${globSource(glob)}$`).test(path)
}

function globSource(glob: string): string {
  let re = ''
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!
    if (glob.startsWith('**/', i)) {
      re += '(?:[^/]+/)*'
      i += 2
    } else if (c === '*') re += '[^/]*'
    else if (c === '{') {
      let depth = 1
      let j = i + 1
      for (; j < glob.length && depth > 0; j++) depth += glob[j] === '{' ? 1 : glob[j] === '}' ? -1 : 0
      const body = glob.slice(i + 1, j - 1)
      const parts: string[] = []
      let level = 0
      let from = 0
      for (let k = 0; k < body.length; k++) {
        if (body[k] === '{') level++
        else if (body[k] === '}') level--
        else if (body[k] === ',' && level === 0) (parts.push(body.slice(from, k)), (from = k + 1))
      }
      parts.push(body.slice(from))
      re += `(?:${parts.map(globSource).join('|')})`
      i = j - 1
    } else re += c.replace(/[.+?^$()|[\]\\]/g, '\\$&')
  }
  return re
}
