import puppeteer, {type Browser, type Page} from 'puppeteer-core'

/** Debian's Chromium (installed by .ci/run); puppeteer-core never downloads a browser. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

export async function launch(): Promise<Browser> {
  // the flags keep Chromium off the network: no background fetches, no component updates
  return puppeteer.launch({
    executablePath: CHROMIUM,
    args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  })
}

/** A page that records console errors, page errors and failed or non-file requests. */
export async function watchedPage(browser: Browser): Promise<{page: Page; problems: string[]}> {
  const page = await browser.newPage()
  const problems: string[] = []
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warn') problems.push(`console ${m.type()}: ${m.text()}`)
  })
  page.on('pageerror', (e) => problems.push(`page error: ${(e as Error).message}`))
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`))
  page.on('request', (r) => {
    if (!r.url().startsWith('file://') && !r.url().startsWith('data:')) problems.push(`remote request: ${r.url()}`)
  })
  return {page, problems}
}
