// @ts-check
// The package graph, read from the workspace itself: which project each file belongs to, what it imports, what its
// package.json declares, and which layer its Nx tags put it in. Used by the ESLint layering rule (eslint.config.mjs)
// and by tools/package-graph.test.mjs, which runs in `npm test`.
import { builtinModules } from 'node:module';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Bottom to top, each layer the floor its projects really stand on: rules (pure domain rules); base (formats, message
 * contract, configuration, state, all on rules alone); io (the broker and the stores); core (packing, the service
 * runtime, notification, on top of io); app (the pack workflow and serving); interface (the HTTP API, which drives
 * the workflow's steps as the CLI does); service (the deployables: services and
 * the CLI). A project may import a project of a lower layer; within a layer only the pairs in SAME_LAYER_IMPORTS.
 * `layer:test` projects (e2e, bench, deploy checks) sit on top and are never imported by production code.
 */
export const LAYERS = ['layer:rules', 'layer:base', 'layer:io', 'layer:core', 'layer:app', 'layer:interface', 'layer:service', 'layer:test'];

/** Same-layer imports that are part of the design. */
export const SAME_LAYER_IMPORTS = new Map([
  // The benchmark and the deployment checks drive the same real stack the end-to-end tests do, through its harness.
  ['@subpack/bench', ['@subpack/e2e']],
  ['@subpack/deploy', ['@subpack/e2e']],
  // The web console's browser tests run it against the same real stack.
  ['@subpack/console', ['@subpack/e2e']],
]);

/** Packages only tests may import (they build fixtures); production code must not depend on them. */
export const TEST_ONLY_TAG = 'scope:test-support';

/**
 * @typedef {{ name: string, dir: string, tags: string[], layer: number, testOnly: boolean, testProject: boolean,
 *   dependencies: string[], devDependencies: string[] }} Project
 */

/** @returns {string[]} workspace directories, relative to ROOT */
function workspaceDirs() {
  const root = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  /** @type {string[]} */
  const dirs = [];
  for (const pattern of root.workspaces) {
    if (pattern.endsWith('/*')) {
      const parent = pattern.slice(0, -2);
      for (const entry of readdirSync(join(ROOT, parent))) {
        if (existsSync(join(ROOT, parent, entry, 'package.json'))) dirs.push(`${parent}/${entry}`);
      }
    } else if (existsSync(join(ROOT, pattern, 'package.json'))) {
      dirs.push(pattern);
    }
  }
  return dirs.sort();
}

/** @type {Project[] | undefined} */
let cachedProjects;

/** @returns {Project[]} */
export function loadProjects() {
  if (cachedProjects) return cachedProjects;
  cachedProjects = workspaceDirs().map((dir) => {
    const pkg = JSON.parse(readFileSync(join(ROOT, dir, 'package.json'), 'utf8'));
    /** @type {string[]} */
    const tags = pkg.nx?.tags ?? [];
    const layerTags = tags.filter((t) => t.startsWith('layer:'));
    const layer = layerTags.length === 1 ? LAYERS.indexOf(layerTags[0] ?? '') : -1;
    return {
      name: pkg.name,
      dir,
      tags,
      layer,
      testOnly: tags.includes(TEST_ONLY_TAG),
      testProject: layerTags[0] === 'layer:test',
      dependencies: Object.keys(pkg.dependencies ?? {}).sort(),
      devDependencies: Object.keys(pkg.devDependencies ?? {}).sort(),
    };
  });
  return cachedProjects;
}

/** @param {string} absoluteFile @returns {Project | undefined} */
export function projectOfFile(absoluteFile) {
  const rel = relative(ROOT, absoluteFile).split(sep).join('/');
  return loadProjects().find((p) => rel.startsWith(`${p.dir}/`));
}

/** Tests and their helpers: what only runs under `node --test`. @param {string} file */
export function isTestFile(file) {
  const rel = file.split(sep).join('/');
  return /\.test\.ts$/.test(rel) || rel.includes('/test-support/');
}

const BUILTINS = new Set(builtinModules);

/** The package a module specifier names, or null for relative paths and Node built-ins. @param {string} specifier */
export function packageOf(specifier) {
  if (specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('node:')) return null;
  const parts = specifier.split('/');
  const name = specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] ?? '');
  if (BUILTINS.has(name)) return null;
  return name;
}

/**
 * Why `from` may not import package `to`, or null. Unknown packages (third-party) are only checked for being declared.
 * @param {Project} from @param {string} to @param {boolean} testFile
 */
export function layeringProblem(from, to, testFile) {
  const target = loadProjects().find((p) => p.name === to);
  if (!target || target.name === from.name) return null;
  if (target.testOnly) {
    return testFile || from.testProject ? null : `${to} builds test fixtures; only tests may import it (from ${from.name})`;
  }
  if (from.layer < 0 || target.layer < 0) return `${from.layer < 0 ? from.name : to} has no single layer:* tag in its package.json nx.tags`;
  if (target.layer < from.layer) return null;
  if (target.layer === from.layer && (SAME_LAYER_IMPORTS.get(from.name) ?? []).includes(to)) return null;
  const where = target.layer === from.layer ? 'the same layer' : 'a higher layer';
  return `${from.name} (${LAYERS[from.layer]}) must not import ${to} (${LAYERS[target.layer]}, ${where}); imports go down the layers: ${LAYERS.join(' < ')}`;
}

/**
 * A relative import that leaves its project reaches into another one's files behind the graph's back.
 * @param {Project} from @param {string} file absolute path of the importing file @param {string} specifier
 */
export function relativeEscapeProblem(from, file, specifier) {
  if (!specifier.startsWith('.')) return null;
  const target = relative(join(ROOT, from.dir), join(dirname(file), specifier)).split(sep).join('/');
  if (!target.startsWith('../')) return null;
  return `${from.name} imports ${JSON.stringify(specifier)}, a path outside its own directory; declare the package and import it by name`;
}

/** Why `from` may not import package `to` without declaring it, or null. @param {Project} from @param {string} to @param {boolean} testFile */
export function declarationProblem(from, to, testFile) {
  if (from.dependencies.includes(to)) return null;
  if ((testFile || from.testProject) && from.devDependencies.includes(to)) return null;
  const field = testFile || from.testProject ? 'devDependencies' : 'dependencies';
  return `${from.name} imports ${to} but its package.json does not declare it in ${field}`;
}

const IMPORT_PATTERNS = [
  /\bfrom\s+['"]([^'"]+)['"]/g,
  /\bimport\s+['"]([^'"]+)['"]/g,
  /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
  /\brequire\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
];

/** Module specifiers a TypeScript source imports (static, side-effect, dynamic and require). @param {string} text */
export function importsIn(text) {
  const withoutComments = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
  /** @type {Set<string>} */
  const found = new Set();
  for (const pattern of IMPORT_PATTERNS) for (const m of withoutComments.matchAll(pattern)) if (m[1]) found.add(m[1]);
  return [...found];
}

/** @param {string} dir @returns {string[]} */
function sourceFiles(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return entry === 'node_modules' || entry === 'dist' ? [] : sourceFiles(path);
    return (path.endsWith('.ts') || path.endsWith('.tsx')) && !path.endsWith('.d.ts') ? [path] : [];
  });
}

/** Type packages come with the compiler setup at the root, not per project. @param {string} name */
function isTypesPackage(name) {
  return name.startsWith('@types/');
}

/**
 * What a project's sources import: packages its production code needs (dependencies), packages only its tests need
 * (devDependencies; everything, for a layer:test project), and relative imports that leave the project.
 * @param {Project} project
 */
export function importedPackages(project) {
  /** @type {Set<string>} */ const runtimeImports = new Set();
  /** @type {Set<string>} */ const testImports = new Set();
  /** @type {string[]} */ const escapes = [];
  for (const file of sourceFiles(join(ROOT, project.dir, 'src'))) {
    const testFile = isTestFile(relative(ROOT, file));
    for (const specifier of importsIn(readFileSync(file, 'utf8'))) {
      const escape = relativeEscapeProblem(project, file, specifier);
      if (escape) escapes.push(`${relative(ROOT, file)}: ${escape}`);
      const name = packageOf(specifier);
      if (!name || isTypesPackage(name) || name === project.name) continue;
      (testFile || project.testProject ? testImports : runtimeImports).add(name);
    }
  }
  return {
    dependencies: [...runtimeImports].sort(),
    devDependencies: [...testImports].filter((n) => !runtimeImports.has(n)).sort(),
    escapes,
  };
}

/**
 * Everything wrong with the declared graph: imports not declared (or declared in the wrong field), declarations not
 * imported, and tsconfig references that differ from the workspace packages a project declares.
 * @returns {string[]}
 */
export function packageGraphProblems() {
  /** @type {string[]} */
  const problems = [];
  const projects = loadProjects();
  for (const project of projects) {
    if (project.layer < 0) problems.push(`${project.name}: needs exactly one layer:* tag in package.json nx.tags (${LAYERS.join(', ')})`);
    const { dependencies: expectedDeps, devDependencies: expectedDev, escapes } = importedPackages(project);
    problems.push(...escapes);
    const actualDev = project.devDependencies.filter((n) => !isTypesPackage(n));
    for (const name of expectedDeps) if (!project.dependencies.includes(name)) problems.push(`${project.name}: imports ${name} but does not list it in dependencies`);
    for (const name of expectedDev) if (!project.dependencies.includes(name) && !actualDev.includes(name)) problems.push(`${project.name}: tests import ${name} but it is not in devDependencies`);
    for (const name of project.dependencies.filter((n) => !isTypesPackage(n))) {
      if (expectedDev.includes(name)) problems.push(`${project.name}: ${name} is only used by tests; move it to devDependencies`);
      else if (!expectedDeps.includes(name)) problems.push(`${project.name}: lists ${name} in dependencies but never imports it`);
    }
    for (const name of actualDev) if (!expectedDev.includes(name) && !expectedDeps.includes(name)) problems.push(`${project.name}: lists ${name} in devDependencies but never imports it`);

    const tsconfigPath = join(ROOT, project.dir, 'tsconfig.json');
    if (existsSync(tsconfigPath)) {
      const tsconfig = JSON.parse(readFileSync(tsconfigPath, 'utf8'));
      /** @type {string[]} */
      const refs = (tsconfig.references ?? []).map((/** @type {{ path: string }} */ r) => relative(ROOT, join(ROOT, project.dir, r.path)).split(sep).join('/')).sort();
      const declared = [...project.dependencies, ...project.devDependencies]
        .map((n) => projects.find((p) => p.name === n)?.dir)
        .filter((d) => d !== undefined)
        .sort();
      if (JSON.stringify(refs) !== JSON.stringify(declared)) {
        problems.push(`${project.name}: tsconfig.json references [${refs.join(', ')}] but package.json declares [${declared.join(', ')}]`);
      }
    }
  }
  return problems;
}

/** @param {any} node @returns {string | undefined} */
function specifierOf(node) {
  const source = node.source;
  return source && source.type === 'Literal' && typeof source.value === 'string' ? source.value : undefined;
}

/** ESLint plugin: `subpack/layering` reports imports that go up the layers, and packages a project does not declare. */
export const layeringPlugin = {
  rules: {
    layering: {
      meta: { type: 'problem', schema: [], docs: { description: 'Imports follow the package layers and are declared in package.json' } },
      /** @param {any} context */
      create(context) {
        const filename = context.filename ?? context.getFilename();
        const project = projectOfFile(filename);
        if (!project) return {};
        const testFile = isTestFile(relative(ROOT, filename));
        /** @param {any} node @param {string | undefined} specifier */
        const check = (node, specifier) => {
          if (!specifier) return;
          const escape = relativeEscapeProblem(project, filename, specifier);
          if (escape) context.report({ node, message: escape });
          const name = packageOf(specifier);
          if (!name || isTypesPackage(name)) return;
          const problem = layeringProblem(project, name, testFile) ?? declarationProblem(project, name, testFile);
          if (problem) context.report({ node, message: problem });
        };
        return {
          /** @param {any} node */ ImportDeclaration: (node) => check(node, specifierOf(node)),
          /** @param {any} node */ ExportAllDeclaration: (node) => check(node, specifierOf(node)),
          /** @param {any} node */ ExportNamedDeclaration: (node) => check(node, specifierOf(node)),
          /** @param {any} node */ ImportExpression: (node) => check(node, specifierOf(node)),
        };
      },
    },
  },
};
