import {createServer} from 'node:net'
import {runServer, terminateServer, ZetaSQLClient} from '@fivetrandevelopers/zetasql'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {bigqueryDialect} from '../../adapters/bigquery/dialect.js'
import {statementsFor, suiteProjects} from '../helpers/suite-projects.js'

// Google's ZetaSQL (the BigQuery SQL frontend) parses every statement segc generates for
// BigQuery: an independent parser, not a comparison with strings we wrote.

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as {port: number}).port
      s.close(() => resolve(port))
    })
  })
}

let client: ZetaSQLClient
beforeAll(async () => {
  const port = await freePort()
  void runServer(port)
  ZetaSQLClient.init(port)
  client = ZetaSQLClient.getInstance()
  for (let i = 0; i < 100; i++) {
    if (await client.formatSql({sql: 'SELECT 1'}).then(() => true, () => false)) return
    await client.delay(100)
  }
  throw new Error('the ZetaSQL server did not start')
})
afterAll(() => terminateServer())

describe('BigQuery SQL parses with ZetaSQL', () => {
  for (const project of suiteProjects()) {
    it(`every statement of the ${project.name} project`, async () => {
      const statements = statementsFor(project.dir, bigqueryDialect)
      expect(statements.length).toBeGreaterThan(20)
      const failures: string[] = []
      for (const sql of statements) {
        const error = await client.formatSql({sql}).then(() => undefined, (e: Error) => e.message)
        if (error) failures.push(`${error}\n--- in ---\n${sql.slice(0, 400)}`)
      }
      expect(failures).toEqual([])
    })
  }

  it('rejects what is not BigQuery (the check can fail)', async () => {
    const error = await client.formatSql({sql: 'SELECT "a" FROM t WHERE x = 1 QUALIFY'}).then(() => undefined, (e: Error) => e.message)
    expect(error).toMatch(/Syntax error/)
  })
})
