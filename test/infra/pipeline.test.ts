/**
 * The deployment pipeline and the Bicep rules that can be checked without the Bicep CLI and without Azure.
 *
 * - A deployment from the workflow keeps every setting an operator set with `azd env set`: main.bicep writes the
 *   whole app-settings list, so every parameter of main.parameters.json bound to an azd variable must reach
 *   `azd provision` in CI, which takes declaring it in azure.yaml (`azd pipeline config` copies it into GitHub)
 *   and passing it in the workflow. Read generically: a parameter added later is caught here.
 * - The workflow lints every Bicep file with a pinned Bicep release, warnings failing the job, and deploys through a
 *   GitHub environment, one deployment at a time.
 * - What the linter would warn about and a text can show: no value derived from a @secure() parameter in an output,
 *   no hard-coded cloud host name, secret-looking string parameters @secure(), no unused parameter or variable.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import { declarations, DISALLOWED_HOSTS, looksSecret, outputsWithSecrets, scanBicep, unusedSymbols } from './bicepSource';

const ROOT = path.resolve(__dirname, '..', '..');
const read = (relative: string): string => readFileSync(path.join(ROOT, relative), 'utf8');

const bicepFiles = ['infra/main.bicep', ...readdirSync(path.join(ROOT, 'infra/modules')).filter((file) => file.endsWith('.bicep')).map((file) => `infra/modules/${file}`)];

/** Filled in by azd itself at provision time, never by the pipeline. */
const AZD_PROVIDED = new Set(['AZURE_PRINCIPAL_ID', 'AZURE_PRINCIPAL_TYPE']);
/** Set by `azd pipeline config` as GitHub variables on its own (not listed in azure.yaml). */
const PIPELINE_CONFIG_VARIABLES = ['AZURE_CLIENT_ID', 'AZURE_TENANT_ID', 'AZURE_SUBSCRIPTION_ID', 'AZURE_ENV_NAME', 'AZURE_LOCATION'];

const parametersFile = z.object({ parameters: z.record(z.string(), z.object({ value: z.unknown() })) }).parse(JSON.parse(read('infra/main.parameters.json')));

/** `${NAME}` or `${NAME=default}`: the azd variable a parameter is bound to. */
const boundVariables = new Map<string, string>();
for (const [param, { value }] of Object.entries(parametersFile.parameters)) {
  const match = typeof value === 'string' ? /^\$\{([A-Za-z_]\w*)(?:=[^}]*)?\}$/u.exec(value) : null;
  if (match?.[1]) boundVariables.set(match[1], param);
}

const mainDeclarations = declarations(read('infra/main.bicep'));
const isSecureParam = (name: string): boolean =>
  mainDeclarations.some((decl) => decl.kind === 'param' && decl.name === name && decl.decorators.some((decorator) => decorator.startsWith('@secure()')));

const azureYaml = z
  .object({ pipeline: z.object({ provider: z.string().optional(), variables: z.array(z.string()).default([]), secrets: z.array(z.string()).default([]) }) })
  .parse(parse(read('azure.yaml')));

const workflowStep = z.object({ run: z.string().optional(), uses: z.string().optional(), name: z.string().optional() }).passthrough();
const workflowJob = z
  .object({
    env: z.record(z.string(), z.string()).default({}),
    steps: z.array(workflowStep).default([]),
    environment: z.unknown().optional(),
    concurrency: z.unknown().optional(),
    strategy: z.object({ matrix: z.object({ node: z.array(z.string()) }).passthrough() }).optional(),
  })
  .passthrough();
const workflow = z
  .object({ env: z.record(z.string(), z.string()).default({}), jobs: z.record(z.string(), workflowJob) })
  .parse(parse(read('.github/workflows/azure-dev.yml')));
const job = (name: string) => {
  const found = workflow.jobs[name];
  if (!found) throw new Error(`.github/workflows/azure-dev.yml has no job ${name}`);
  return found;
};

describe('a deployment from the workflow keeps every setting', () => {
  it('reads the bindings of main.parameters.json (and they are many)', () => {
    expect(boundVariables.size).toBeGreaterThanOrEqual(40);
    expect(boundVariables.get('IPAAS_API_TOKEN')).toBe('ipaasApiToken');
  });

  it('declares every bound azd variable in azure.yaml: secrets (the @secure() parameters) as secrets, the rest as variables', () => {
    const problems: string[] = [];
    const { variables, secrets } = azureYaml.pipeline;
    for (const [variable, param] of boundVariables) {
      if (AZD_PROVIDED.has(variable) || PIPELINE_CONFIG_VARIABLES.includes(variable)) continue;
      const secure = isSecureParam(param);
      if (secure && !secrets.includes(variable)) problems.push(`${variable} (param ${param}, @secure()) is not in azure.yaml pipeline.secrets`);
      if (!secure && !variables.includes(variable)) problems.push(`${variable} (param ${param}) is not in azure.yaml pipeline.variables`);
      if (secure && variables.includes(variable)) problems.push(`${variable} is a secret but listed in pipeline.variables (it would be stored in clear)`);
    }
    for (const name of [...variables, ...secrets]) {
      if (!boundVariables.has(name)) problems.push(`azure.yaml pipeline lists ${name}, which no parameter of main.parameters.json reads`);
    }
    expect(problems).toEqual([]);
    expect(azureYaml.pipeline.provider).toBe('github');
  });

  it('passes each of them to azd in the deploy job, variables from vars and secrets from secrets', () => {
    const env = job('deploy').env;
    const problems: string[] = [];
    for (const name of [...azureYaml.pipeline.variables, ...PIPELINE_CONFIG_VARIABLES]) {
      if (env[name] !== `\${{ vars.${name} }}`) problems.push(`deploy env ${name} should be \${{ vars.${name} }} (is ${env[name] ?? 'missing'})`);
    }
    for (const name of azureYaml.pipeline.secrets) {
      if (env[name] !== `\${{ secrets.${name} }}`) problems.push(`deploy env ${name} should be \${{ secrets.${name} }} (is ${env[name] ?? 'missing'})`);
    }
    // Values azd prompted for (kept in its config, not its .env) travel in this secret of `azd pipeline config`.
    if (env.AZD_INITIAL_ENVIRONMENT_CONFIG !== '${{ secrets.AZD_INITIAL_ENVIRONMENT_CONFIG }}') problems.push('deploy env lacks AZD_INITIAL_ENVIRONMENT_CONFIG');
    expect(problems).toEqual([]);
  });

  it('deploys behind a GitHub environment, one deployment of an azd environment at a time, after tests and Bicep', () => {
    const deploy = job('deploy');
    expect(deploy.environment).toBeTruthy();
    expect(deploy.concurrency).toMatchObject({ group: expect.stringContaining('${{ vars.AZURE_ENV_NAME }}'), 'cancel-in-progress': false });
    expect(deploy.needs).toEqual(expect.arrayContaining(['test', 'bicep']));
    const runs = deploy.steps.map((step) => step.run ?? '').join('\n');
    expect(runs).toContain('azd provision --no-prompt');
    expect(runs).toContain('azd deploy --no-prompt');
  });
});

describe('the workflow', () => {
  it('tests on Node 20.18 (the oldest engines allows), 22 (Azure) and 24', () => {
    expect(job('test').strategy?.matrix.node).toEqual(['20.18', '22', '24']);
    const engines = (JSON.parse(read('package.json')) as { engines?: { node?: string } }).engines?.node;
    expect(engines).toBe('>=20.18');
    // The bundle targets the oldest Node that engines allows, which the test matrix starts with; Azure runs a newer one.
    expect(/^export const BUNDLE_TARGET = 'node(\d+)';$/mu.exec(read('scripts/bundle.ts'))?.[1]).toBe('20');
    expect(read('infra/modules/functionApp.bicep')).toMatch(/name: 'node'\s*version: '22'/u);
  });

  it('installs a pinned Bicep release, and builds and lints every Bicep file with warnings failing the job', () => {
    const version = workflow.env.BICEP_VERSION;
    expect(version).toMatch(/^v\d+\.\d+\.\d+$/u);
    const runs = job('bicep').steps.map((step) => step.run ?? '').join('\n');
    expect(runs).toContain('releases/download/${BICEP_VERSION}/bicep-linux-x64');
    expect(runs).not.toContain('releases/latest');
    expect(runs).toMatch(/for file in infra\/main\.bicep infra\/modules\/\*\.bicep; do[^\n]*bicep build "\$file"/u);
    expect(runs).toMatch(/bicep lint "\$file" --diagnostics-format sarif/u);
    expect(runs).toContain('r.level === "error" || r.level === "warning"');
  });
});

describe('the Bicep files', () => {
  it('are all found (main and its modules)', () => {
    expect(bicepFiles.length).toBeGreaterThanOrEqual(10);
    for (const file of bicepFiles.filter((candidate) => candidate !== 'infra/main.bicep')) {
      expect(read('infra/main.bicep')).toContain(`'${file.replace('infra/', '')}'`);
    }
  });

  it('put no value derived from a @secure() parameter into an output (outputs-should-not-contain-secrets)', () => {
    const problems = bicepFiles.flatMap((file) => outputsWithSecrets(read(file)).map((output) => `${file}: output ${output}`));
    expect(problems).toEqual([]);
    // The check itself finds one.
    expect(outputsWithSecrets("@secure()\nparam token string\nvar wrapped = 'x${token}'\noutput leaked string = wrapped\n")).toEqual(['leaked']);
  });

  it('name no cloud-specific host in any string, descriptions included (no-hardcoded-env-urls)', () => {
    const problems: string[] = [];
    for (const file of bicepFiles) {
      for (const text of scanBicep(read(file)).strings) {
        for (const host of DISALLOWED_HOSTS) if (new RegExp(`(^|[^\\w-])${host.replace(/\./gu, '\\.')}`, 'u').test(text) && !text.includes('schema.management.azure.com')) problems.push(`${file}: '${text.slice(0, 80)}' names ${host}`);
      }
    }
    expect(problems).toEqual([]);
    expect(scanBicep("// https://login.microsoftonline.com is fine in a comment\nvar a = 'https://login.microsoftonline.com/${x}'").strings).toEqual(['https://login.microsoftonline.com/']);
  });

  it('mark every string parameter that looks like a secret @secure() (secure-secrets-in-params)', () => {
    const problems: string[] = [];
    for (const file of bicepFiles) {
      for (const decl of declarations(read(file))) {
        if (decl.kind !== 'param' || !looksSecret(decl.name)) continue;
        const type = /^\s*(\w+)/u.exec(decl.body)?.[1];
        if ((type === 'string' || type === 'object') && !decl.decorators.some((decorator) => decorator.startsWith('@secure()'))) problems.push(`${file}: param ${decl.name}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('use every parameter and variable they declare (no-unused-params, no-unused-vars)', () => {
    const problems = bicepFiles.flatMap((file) => unusedSymbols(read(file)).map((symbol) => `${file}: ${symbol}`));
    expect(problems).toEqual([]);
  });

  it('turn the unused token store off and update the app with RollingUpdate', () => {
    const functionApp = read('infra/modules/functionApp.bicep');
    expect(functionApp).toMatch(/tokenStore:\s*\{\s*enabled:\s*false\s*\}/u);
    expect(functionApp).toMatch(/siteUpdateStrategy:\s*\{\s*type:\s*'RollingUpdate'\s*\}/u);
  });
});
