// The CI workflow `segc init` writes (SPEC §14): on a pull request, validate, the fixture tests and
// the change's impact posted as a comment; on a schedule, the run and its after_run syncs.
import {SEGC_VERSION} from '../version.js'

export const WORKFLOW_PATH = '.github/workflows/segc.yml'

export function githubWorkflow(): string {
  // both jobs start alike: the checkout, Node 20, segc at this version
  const setup = `      - uses: actions/checkout@v4
      - uses: actions/setup-node@v4
        with: {node-version: 20}
      - run: npm install --global segc@${SEGC_VERSION}
`
  return `# Written by \`segc init\`. Pull requests: validate, fixture tests, and the change's effect in
# people as a comment. Schedule: run every segment and push the after_run syncs.
# segc runs against segc.yaml's default_target (add --target NAME to choose another); its
# credentials come from the repository's secrets (Settings → Secrets → Actions), named as
# segc.yaml's \${env:...} references name them: the env: blocks below show Snowflake's.
name: segc
on:
  pull_request:
    paths: [segc.yaml, "models/**", "segments/**", "syncs/**"]
  schedule:
    - cron: "5 * * * *"
  workflow_dispatch: {}
permissions:
  contents: read
  pull-requests: write
concurrency:
  group: segc-\${{ github.event_name }}-\${{ github.ref }}
  cancel-in-progress: \${{ github.event_name == 'pull_request' }}
jobs:
  review:
    if: github.event_name == 'pull_request'
    runs-on: ubuntu-latest
    steps:
${setup}      - run: segc validate
      - run: segc test
      - run: segc plan --impact --format markdown > impact.md
        env:
          SNOWFLAKE_ACCOUNT: \${{ secrets.SNOWFLAKE_ACCOUNT }}
          SNOWFLAKE_USER: \${{ secrets.SNOWFLAKE_USER }}
          SNOWFLAKE_PASSWORD: \${{ secrets.SNOWFLAKE_PASSWORD }}
      - name: comment the impact on the pull request
        run: gh pr comment "\${{ github.event.pull_request.number }}" --body-file impact.md --edit-last || gh pr comment "\${{ github.event.pull_request.number }}" --body-file impact.md
        env:
          GH_TOKEN: \${{ github.token }}
  run:
    if: github.event_name != 'pull_request'
    runs-on: ubuntu-latest
    steps:
${setup}      - run: segc run --sync --json
        env:
          SNOWFLAKE_ACCOUNT: \${{ secrets.SNOWFLAKE_ACCOUNT }}
          SNOWFLAKE_USER: \${{ secrets.SNOWFLAKE_USER }}
          SNOWFLAKE_PASSWORD: \${{ secrets.SNOWFLAKE_PASSWORD }}
          SEGC_CRM_HOOK_URL: \${{ secrets.SEGC_CRM_HOOK_URL }}
          SEGC_WEBHOOK_SECRET: \${{ secrets.SEGC_WEBHOOK_SECRET }}
`
}
