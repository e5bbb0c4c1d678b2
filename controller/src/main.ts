/**
 * `image-controller [run|resolve] …`: the one entry point of the bundle. `run` is the default, as the
 * seed's controller had no subcommands; each subcommand parses its own flags and returns an exit code.
 */
import { resolveCommand } from './cli/resolve.js';
import { runCommand } from './cli/run.js';

const USAGE = `Usage: image-controller [run] [flags]       watch Images and keep status.latestImage current
       image-controller resolve <ref> [flags]  print <repo>@sha256:… for a tag, like crane digest

Every flag of both subcommands follows; each also reads an environment variable, named beside it.`;

async function main(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  switch (first) {
    case 'resolve':
      return resolveCommand(rest);
    case 'run':
      return runCommand(rest);
    case undefined:
      return runCommand([]);
    default:
      if (first === '-h' || first === '--help' || first === 'help') {
        console.log(USAGE + '\n');
        return (await runCommand(['--help'])) || resolveCommand(['--help']);
      }
      if (first.startsWith('-')) return runCommand(argv);
      console.error(`UnknownCommand: "${first}" is not a command; use run or resolve (see --help)`);
      return 2;
  }
}

process.exitCode = await main(process.argv.slice(2));
