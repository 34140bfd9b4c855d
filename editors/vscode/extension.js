// @ts-check
// segc for VS Code: starts `segc lsp --stdio` for the workspace's segc project. VS Code has no
// generic LSP client, so this is the whole extension: everything else is in the server.
'use strict'
const {existsSync} = require('node:fs')
const {dirname, join} = require('node:path')
const vscode = require('vscode')
const {LanguageClient} = require('vscode-languageclient/node')

/** The project's YAML files, as `segc init` maps schemas onto them (src/lsp/editor-settings.ts). */
const PROJECT_GLOBS = ['**/segc.yaml', '**/models/**/*.yaml', '**/segments/**/*.yaml', '**/syncs/**/*.yaml']

/** @type {LanguageClient | undefined} */
let client

/**
 * The segc to run: the `segc.path` setting, else the project's own (node_modules/.bin, where
 * `npm install segc` puts it, so the editor and CI run the same version), else `segc` on PATH.
 * @param {string} projectDir
 * @param {string | undefined} setting
 * @param {NodeJS.Platform} platform
 */
function segcCommand(projectDir, setting, platform = process.platform) {
  if (setting && setting.trim() !== '') return setting.trim()
  const local = join(projectDir, 'node_modules', '.bin', platform === 'win32' ? 'segc.cmd' : 'segc')
  return existsSync(local) ? local : 'segc'
}

/** The folder holding segc.yaml: a workspace folder itself, else the first one found below. */
async function projectDir() {
  for (const folder of vscode.workspace.workspaceFolders ?? []) {
    if (existsSync(join(folder.uri.fsPath, 'segc.yaml'))) return folder.uri.fsPath
  }
  const found = await vscode.workspace.findFiles('**/segc.yaml', '**/node_modules/**', 1)
  return found.length > 0 ? dirname(found[0].fsPath) : undefined
}

/** @param {import('vscode').ExtensionContext} context */
async function activate(context) {
  const dir = await projectDir()
  // activated by a YAML file outside any segc project: nothing to serve
  if (!dir) return undefined
  const command = segcCommand(dir, vscode.workspace.getConfiguration('segc').get('path'))
  /** @type {import('vscode-languageclient/node').ServerOptions} */
  const serverOptions = {
    // the arguments are spelled out and no transport is named: the client would append a second --stdio
    command,
    args: ['lsp', '--stdio'],
    // a .cmd shim (Windows) only starts through a shell
    options: {cwd: dir, shell: command.toLowerCase().endsWith('.cmd')},
  }
  const pattern = `${dir.replace(/\\/g, '/')}/{${PROJECT_GLOBS.map((g) => g.slice(3)).join(',')}}`
  /** @type {import('vscode-languageclient/node').LanguageClientOptions} */
  const clientOptions = {
    documentSelector: [{scheme: 'file', language: 'yaml', pattern}],
    // deleted, renamed and newly created files change the project: the server analyses it again
    synchronize: {fileEvents: vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(dir, '{segc.yaml,models/**/*.yaml,segments/**/*.yaml,syncs/**/*.yaml}'))},
    workspaceFolder: vscode.workspace.getWorkspaceFolder(vscode.Uri.file(dir)),
  }
  client = new LanguageClient('segc', 'segc', serverOptions, clientOptions)
  context.subscriptions.push(client)
  try {
    await client.start()
  } catch (error) {
    void vscode.window.showErrorMessage(`segc: could not start \`${command} lsp --stdio\` (${error instanceof Error ? error.message : String(error)}). Install segc in the project (npm install segc) or set segc.path.`)
  }
  return client
}

async function deactivate() {
  if (client) await client.stop()
  client = undefined
}

module.exports = {activate, deactivate, segcCommand, PROJECT_GLOBS}
