import {copyFileSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {pathToFileURL} from 'node:url'
import type {Browser} from 'puppeteer-core'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {duckdbAdapter} from '../../adapters/duckdb/index.js'
import {exampleCopy, REPO, segc} from '../helpers/cli.js'
import {launch, watchedPage} from '../helpers/browser.js'

// The catalog site, opened from disk in Debian's headless Chromium.

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => (statSync(join(dir, f)).isDirectory() ? files(join(dir, f)) : [join(dir, f)]))
}

describe('segc docs', () => {
  let dir: string
  let site: string
  let browser: Browser
  beforeAll(async () => {
    dir = exampleCopy()
    expect(segc(['demo', '--customers', '2000', '--path', '.segc/warehouse.duckdb'], {cwd: dir}).code).toBe(0)
    const r = segc(['docs', '--out', 'site'], {cwd: dir})
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/^wrote 30 pages \(23 segments, 3 groups, 9 runs of local\)/)
    site = join(dir, 'site')
    browser = await launch()
  })
  afterAll(async () => {
    await browser?.close()
  })

  it('has no remote URL anywhere', () => {
    const all = files(site)
    expect(all.length).toBe(32)
    for (const f of all) expect(readFileSync(f, 'utf8'), f).not.toMatch(/(https?:)?\/\/[a-z0-9.-]+\.[a-z]{2,}|@import|url\(/i)
  })

  it('the index lists every segment, and search and filters work', async () => {
    const {page, problems} = await watchedPage(browser)
    await page.goto(pathToFileURL(join(site, 'index.html')).href)
    const visible = () => page.$$eval('#segments tbody tr', (rows) => rows.filter((r) => !(r as HTMLElement).hidden).map((r) => r.querySelector('a')!.textContent))
    const all = await visible()
    expect(all).toHaveLength(23)
    expect(all).toContain('win_back')
    expect(await page.$eval('#count', (e) => e.textContent)).toBe('23 of 23 segments')
    await page.type('#q', 'lapsed')
    expect(await visible()).toEqual(['win_back'])
    await page.$eval('#q', (e) => ((e as HTMLInputElement).value = ''))
    await page.type('#q', ' ')
    await page.select('select[data-filter="tag"]', 'rfm')
    expect(await visible()).toEqual(['champions', 'cant_lose_them', 'loyal_customers', 'hibernating'])
    await page.select('select[data-filter="tag"]', '')
    await page.select('select[data-filter="entity"]', 'account')
    expect(await visible()).toEqual(['expansion_ready_account'])
    await page.select('select[data-filter="entity"]', '')
    await page.select('select[data-filter="owner"]', 'crm@acme.example')
    expect(await visible()).toEqual(['new_customer', 'active_customer', 'buying_again_soon'])
    expect(problems).toEqual([])
    await page.close()
  })

  it('flags stale segments: a review date passed', async () => {
    // high_intent_lead is due for review on 2027-06-30: build the site as of a later day
    const {buildSite} = await import('../../src/docs/build-site.js')
    await buildSite({project: dir, out: 'site-later', now: new Date('2027-07-01T00:00:00Z')})
    const {page, problems} = await watchedPage(browser)
    await page.goto(pathToFileURL(join(dir, 'site-later', 'index.html')).href)
    await page.click('#stale')
    const rows = await page.$$eval('#segments tbody tr', (rs) => rs.filter((r) => !(r as HTMLElement).hidden).map((r) => [r.querySelector('a')!.textContent, r.querySelector('.flag')?.textContent]))
    expect(rows).toEqual([['high_intent_lead', 'review was due 2027-06-30']])
    expect(problems).toEqual([])
    await page.close()
  })

  it('a segment page shows its rule, draws its size chart and folds its SQL away', async () => {
    const {page, problems} = await watchedPage(browser)
    await page.goto(pathToFileURL(join(site, 'segments', 'win_back.html')).href)
    const rule = await page.$eval('.rule', (e) => e.textContent)
    expect(rule).toMatch(/^Customers either who are in Dormant or who are in Lost and whose lifetime revenue is at least 200/)
    const chart = await page.$eval('svg.chart.line', (svg) => ({points: svg.querySelectorAll('circle').length, d: svg.querySelector('path')!.getAttribute('d'), width: svg.getBoundingClientRect().width}))
    expect(chart.points).toBe(9)
    expect(chart.d).toMatch(/^M[\d.]+,[\d.]+( L[\d.]+,[\d.]+){8}$/)
    expect(chart.width).toBeGreaterThan(200)
    expect(await page.$$eval('svg.chart.bars rect.entered', (r) => r.length)).toBe(9)
    expect(await page.$eval('details', (d) => (d as HTMLDetailsElement).open)).toBe(false)
    expect(await page.$eval('details pre', (p) => p.textContent)).toMatch(/SELECT/i)
    expect(await page.$$eval('table.overlap tbody tr', (r) => r.length)).toBeGreaterThan(0)
    expect(await page.$eval('table.lift', (t) => t.textContent)).toMatch(/Holdout/)
    expect(problems).toEqual([])
    await page.setViewport({width: 1100, height: 1400})
    await page.screenshot({path: join(dir, 'segment.png')})
    if (process.env.SEGC_UPDATE_SCREENSHOTS) copyFileSync(join(dir, 'segment.png'), join(REPO, 'docs/images/segment.png'))
    await page.close()
  })

  it('a propensity model has a page: goal, horizon, population, AUC over versions, calibration, coefficients in words; linked from the segment that uses it', async () => {
    // a second version, a week later: the AUC chart has a point per version
    const fit = segc(['fit', 'will_order_30d', '--as-of', '2026-06-08T00:00:00Z', '--json'], {cwd: dir})
    expect(fit.code, fit.stderr).toBe(0)
    const r = segc(['docs', '--out', 'site-models'], {cwd: dir})
    expect(r.code, r.stderr).toBe(0)
    // what the target stores, read with a query of its own
    const conn = await duckdbAdapter.connect({name: 'local', type: 'duckdb', path: '.segc/warehouse.duckdb'}, dir, {readOnly: true})
    const stored = (await conn.query(`SELECT version, params FROM segments.segment_models WHERE model = 'will_order_30d' ORDER BY version`)).map((x) => ({version: Number(x.version), params: JSON.parse(String(x.params)) as {auc: number; coefficients: number[]; columns: Array<{feature: string; level?: string}>; calibration: Array<{predicted: number; observed: number}>; base_rate: number}}))
    await conn.close()
    expect(stored).toHaveLength(2)
    const latest = stored.at(-1)!.params
    const {page, problems} = await watchedPage(browser)
    // from the segment that uses it, by its link
    await page.goto(pathToFileURL(join(dir, 'site-models/segments/likely_to_order.html')).href)
    await Promise.all([page.waitForNavigation(), page.click('a[href="../models/will_order_30d.html"]')])
    expect(page.url()).toMatch(/models\/will_order_30d\.html$/)
    const meta = await page.$$eval('dl.meta dt', (dts) => Object.fromEntries(dts.map((dt) => [dt.textContent, (dt.nextElementSibling as HTMLElement).innerText])))
    expect(meta.Goal).toBe('placed an order')
    expect(meta.Horizon).toBe('30 days')
    expect(meta.Population).toBe('every customer')
    expect(meta['Used by']).toBe('likely_to_order')
    expect(await page.$eval('#latest', (e) => e.textContent)).toContain(`Out-of-time AUC ${latest.auc.toFixed(3)}`)
    // AUC over versions: one point per version, the y axis 0..1 (a point's height is its AUC)
    const auc = await page.$eval('svg.chart.line', (svg) => [...svg.querySelectorAll('circle')].map((c) => Number(c.getAttribute('cy'))))
    expect(auc).toHaveLength(2)
    const [top, bottom] = [12, 180 - 28]
    auc.forEach((cy, i) => expect((bottom - cy) / (bottom - top)).toBeCloseTo(stored[i]!.params.auc, 2))
    // calibration: ten bins, each dot left of another when its predicted share is lower
    const dots = await page.$$eval('svg.chart.calibration circle.bin', (cs) => cs.map((c) => [Number(c.getAttribute('cx')), Number(c.getAttribute('cy'))]))
    expect(dots).toHaveLength(10)
    for (let i = 1; i < 10; i++) expect(Math.sign(dots[i]![0]! - dots[i - 1]![0]!)).toBe(Math.sign(latest.calibration[i]!.predicted - latest.calibration[i - 1]!.predicted))
    // coefficients in words, strongest first, the direction each stored sign gives
    const words = await page.$$eval('ul.coefficients li', (lis) => lis.map((l) => l.textContent!))
    expect(words).toHaveLength(latest.columns.length)
    const order = latest.coefficients.map((b, j) => [Math.abs(b), j] as const).sort((a, b) => b[0] - a[0]).map(([, j]) => j)
    order.forEach((j, i) => {
      const b = latest.coefficients[j]!
      expect(words[i]).toContain(b > 0 ? '→ more likely' : '→ less likely')
      expect(words[i]).toContain(`odds ×${Math.exp(b).toPrecision(3)}`)
      if (latest.columns[j]!.level !== undefined) expect(words[i]).toContain(`“${latest.columns[j]!.level}”`)
    })
    expect(words.find((w) => w.includes('orders in the last year'))).toMatch(/^more orders in the last year → (more|less) likely \(odds ×[\d.]+ per standard deviation/)
    // the index lists it
    await page.goto(pathToFileURL(join(dir, 'site-models/index.html')).href)
    expect(await page.$eval('#models', (e) => e.textContent)).toContain(`will_order_30d the goal "placed an order" within 30 days · AUC ${latest.auc.toFixed(3)} (version 2)`)
    expect(problems).toEqual([])
    await page.close()
  })

  it('a group page shows the flows between its segments', async () => {
    const {page, problems} = await watchedPage(browser)
    await page.goto(pathToFileURL(join(site, 'groups', 'lifecycle.html')).href)
    const flows = await page.$$eval('table.flows tbody tr', (rows) => rows.map((r) => [...r.querySelectorAll('td')].map((td) => td.textContent)))
    expect(flows.length).toBeGreaterThan(3)
    expect(flows.some(([from, to]) => from === 'active_customer' && to === 'at_risk')).toBe(true)
    expect(problems).toEqual([])
    await page.close()
  })

  it('a profile page shows each column of the table the run wrote, with its definition; linked from the index', async () => {
    const {page, problems} = await watchedPage(browser)
    await page.goto(pathToFileURL(join(site, 'index.html')).href)
    expect(await page.$$eval('#profiles a', (as) => as.map((a) => a.getAttribute('href')))).toEqual(['profiles/account.html', 'profiles/customer.html'])
    await page.goto(pathToFileURL(join(site, 'profiles', 'customer.html')).href)
    const rows = await page.$$eval('#columns tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')))
    // what the warehouse holds, from its own catalog: the columns in order and their comments
    const conn = await duckdbAdapter.connect({name: 'local', type: 'duckdb', path: '.segc/warehouse.duckdb'}, dir)
    const real = await conn.query("SELECT column_name, data_type, comment FROM duckdb_columns() WHERE schema_name = 'segments' AND table_name = 'segment_profiles_customer' ORDER BY column_index")
    await conn.close()
    expect(rows.map((r) => r[0])).toEqual(real.map((c) => String(c.column_name)))
    rows.forEach((r, i) => expect(r[3], r[0]).toBe(String(real[i]!.comment)))
    const row = (name: string) => rows.find((r) => r[0] === name)!
    expect(row('orders_total')[1]).toBe('trait')
    expect(row('orders_total')[3]).toMatch(/order/)
    expect(row('in_win_back')[1]).toBe('member flag')
    expect(row('in_win_back')[3]).toMatch(/lifetime revenue/)
    expect(row('stage_lifecycle')[1]).toBe('group stage')
    expect(await page.$eval('#columns a[href="../segments/win_back.html"]', (a) => a.textContent)).toBe('in_win_back')
    expect(problems).toEqual([])
    await page.close()
  })

  it('a screenshot of the index for the README', async () => {
    const {page} = await watchedPage(browser)
    await page.setViewport({width: 1100, height: 760})
    await page.goto(pathToFileURL(join(site, 'index.html')).href)
    const shot = join(dir, 'catalog.png')
    await page.screenshot({path: shot})
    expect(statSync(shot).size).toBeGreaterThan(10_000)
    if (process.env.SEGC_UPDATE_SCREENSHOTS) copyFileSync(shot, join(REPO, 'docs/images/catalog.png'))
    await page.close()
  })

  it('--impact shows a proposed change: a banner on the index, the numbers on each affected page', async () => {
    const growth = join(dir, 'segments/growth.yaml')
    const original = readFileSync(growth, 'utf8')
    writeFileSync(growth, original.replace('gte: 500', 'gte: 300'))
    try {
      const plan = segc(['plan', '--impact', '--json'], {cwd: dir})
      expect(plan.code, plan.stderr).toBe(0)
      writeFileSync(join(dir, 'impact.json'), plan.stdout)
      const impact = JSON.parse(plan.stdout) as {segments: Array<{segment: string; status: string; size_before: number; size_after: number; entering: number; exiting: number}>}
      const changed = impact.segments.find((x) => x.segment === 'high_value_at_risk')!
      expect(changed.entering).toBeGreaterThan(0)
      const r = segc(['docs', '--out', 'site-impact', '--impact', 'impact.json'], {cwd: dir})
      expect(r.code, r.stderr).toBe(0)
      const {page, problems} = await watchedPage(browser)
      await page.goto(pathToFileURL(join(dir, 'site-impact/index.html')).href)
      const banner = await page.$eval('#impact', (e) => (e as HTMLElement).innerText)
      const entering = impact.segments.reduce((n, x) => n + x.entering, 0)
      expect(banner).toContain(`Proposed change`)
      expect(banner).toContain(`${impact.segments.length} segment${impact.segments.length === 1 ? '' : 's'} affected, ${entering.toLocaleString('en-US')} entering`)
      const flagged = await page.$$eval('#segments tbody tr', (rows) => rows.filter((r) => r.querySelector('.flag.proposed')).map((r) => r.querySelector('a')!.textContent))
      expect(flagged.sort()).toEqual(impact.segments.map((x) => x.segment).sort())
      await page.goto(pathToFileURL(join(dir, 'site-impact/segments/high_value_at_risk.html')).href)
      const cells = await page.$$eval('#impact tbody td', (tds) => tds.map((t) => t.textContent))
      expect(cells).toEqual([changed.size_before, changed.size_after].map((n) => n.toLocaleString('en-US')).concat([`+${changed.entering.toLocaleString('en-US')}`, `−${changed.exiting.toLocaleString('en-US')}`]))
      // an unaffected segment's page has no proposed change
      await page.goto(pathToFileURL(join(dir, 'site-impact/segments/champions.html')).href)
      expect(await page.$('#impact')).toBe(null)
      expect(problems).toEqual([])
      await page.close()
      writeFileSync(join(dir, 'not-impact.json'), '{"segments": 3}')
      const bad = segc(['docs', '--out', 'site-bad', '--impact', 'not-impact.json'], {cwd: dir})
      expect(bad.code).toBe(1)
      expect(bad.stderr).toMatch(/^--impact:1:1: error\[bad_flag\]: --impact not-impact\.json: not the output of segc plan --impact --json/m)
      expect(existsSync(join(dir, 'site-bad'))).toBe(false)
    } finally {
      writeFileSync(growth, original)
    }
  })
})

describe('segc docs before any run', () => {
  it('exits 1 with a clear message and writes nothing', () => {
    const dir = exampleCopy()
    const r = segc(['docs', '--out', 'site'], {cwd: dir})
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/error\[no_runs\]: target 'local' has no successful run .*run `segc run` first/)
    expect(existsSync(join(dir, 'site'))).toBe(false)
    for (const cmd of [['stats'], ['overlap'], ['measure']]) expect(segc(cmd, {cwd: dir}).code).toBe(1)
  })
})
