// Compiles the package (charts/index.ts and what it imports; tsconfig.lib.json) to CommonJS with .d.ts in
// lib/. The Image API's types are derived from its JSON schema by json-schema-to-ts, a type-only dev
// dependency that a user's tsc must not need: in the .d.ts each such type is written out as the compiler
// resolves it, and the import of json-schema-to-ts is dropped. `npm run build:lib` and `npm pack` run this.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = fileURLToPath(new URL('..', import.meta.url));
const outDir = join(root, 'lib');
/** The type-only module whose types are resolved away. */
const TYPE_ONLY_MODULE = 'json-schema-to-ts';

const config = ts.getParsedCommandLineOfConfigFile(join(root, 'tsconfig.lib.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: fail });
if (!config) throw new Error('tsconfig.lib.json could not be read');
rmSync(outDir, { recursive: true, force: true });
const program = ts.createProgram(config.fileNames, config.options);
const checker = program.getTypeChecker();

/** In each file, the names it imports from the type-only module. */
const typeOnlyNames = (file: ts.SourceFile): Set<string> =>
  new Set(
    file.statements
      .filter((statement): statement is ts.ImportDeclaration => ts.isImportDeclaration(statement) && importsTypeOnlyModule(statement))
      .flatMap((statement) => {
        const bindings = statement.importClause?.namedBindings;
        return bindings && ts.isNamedImports(bindings) ? bindings.elements.map((element) => element.name.text) : [];
      }),
  );

function importsTypeOnlyModule(statement: ts.Statement): boolean {
  return ts.isImportDeclaration(statement) && ts.isStringLiteral(statement.moduleSpecifier) && statement.moduleSpecifier.text === TYPE_ONLY_MODULE;
}

/** Writes each type alias that uses the type-only module as the type it resolves to, and drops the import. */
const resolveTypeOnlyTypes: ts.TransformerFactory<ts.SourceFile | ts.Bundle> = (context) => (output) => {
  if (!ts.isSourceFile(output)) return output;
  // The declaration file is transformed under its source's name.
  const source = program.getSourceFile(output.fileName);
  const names = source ? typeOnlyNames(source) : new Set<string>();
  if (!source || names.size === 0) return output;
  const aliases = new Map(
    source.statements.filter(ts.isTypeAliasDeclaration).map((alias) => [alias.name.text, alias] as const),
  );
  const usesTypeOnlyModule = (node: ts.Node): boolean =>
    (ts.isTypeReferenceNode(node) && ts.isIdentifier(node.typeName) && names.has(node.typeName.text)) || ts.forEachChild(node, usesTypeOnlyModule) === true;
  const statements = output.statements.filter((statement) => !importsTypeOnlyModule(statement)).map((statement) => {
    if (!ts.isTypeAliasDeclaration(statement)) return statement;
    const original = aliases.get(statement.name.text);
    if (!original || !usesTypeOnlyModule(original.type)) return statement;
    const resolved = checker.typeToTypeNode(
      checker.getTypeAtLocation(original.name),
      original,
      ts.NodeBuilderFlags.NoTruncation | ts.NodeBuilderFlags.InTypeAlias | ts.NodeBuilderFlags.IgnoreErrors,
    );
    if (!resolved) throw new Error(`${source.fileName}: the type ${original.name.text} could not be written out`);
    return context.factory.updateTypeAliasDeclaration(statement, statement.modifiers, statement.name, statement.typeParameters, resolved);
  });
  return context.factory.updateSourceFile(output, statements);
};

const written: string[] = [];
const result = program.emit(
  undefined,
  (fileName, text, bom) => {
    if (fileName.endsWith('.d.ts') && text.includes(`'${TYPE_ONLY_MODULE}'`)) throw new Error(`${fileName} still refers to ${TYPE_ONLY_MODULE}`);
    ts.sys.writeFile(fileName, text, bom);
    written.push(fileName);
  },
  undefined,
  false,
  { afterDeclarations: [resolveTypeOnlyTypes] },
);
const diagnostics = [...ts.getPreEmitDiagnostics(program), ...result.diagnostics];
if (diagnostics.length > 0) fail(...diagnostics);
// The repository is `"type": "module"`; lib/ is CommonJS, which cdk8s init's apps require.
writeFileSync(join(outDir, 'package.json'), '{"type":"commonjs"}\n');
console.log(`lib/: ${written.length} files`);

function fail(...diagnostics: readonly ts.Diagnostic[]): never {
  const host = { getCanonicalFileName: (name: string) => name, getCurrentDirectory: () => root, getNewLine: () => '\n' };
  console.error(ts.formatDiagnosticsWithColorAndContext(diagnostics, host));
  process.exit(1);
}
