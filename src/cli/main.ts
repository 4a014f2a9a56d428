import { Command, CommanderError } from "commander";
import { isClearanceError } from "../policy/index.ts";
import { registerAdminCommands } from "./admin-commands.ts";
import { registerGatewayCommands } from "./gateway-commands.ts";
import { CliFailure, EXIT } from "./io.ts";
import { registerPolicyCommands } from "./policy-commands.ts";
import { registerStoreCommands } from "./store-commands.ts";
import { registerTableCommand } from "./table-command.ts";

/** The `clearance` command. Thin: parses arguments and calls the modules. */
export function buildProgram(): Command {
  const program = new Command("clearance")
    .description("Clearance: enforce export-control directives on frontier AI model access")
    .version("0.1.0")
    .exitOverride()
    .showHelpAfterError("(run with --help for usage)");
  registerPolicyCommands(program);
  registerTableCommand(program);
  registerStoreCommands(program);
  registerGatewayCommands(program);
  registerAdminCommands(program);
  return program;
}

export async function run(argv: readonly string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv, { from: "user" });
    return typeof process.exitCode === "number" ? process.exitCode : EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.code === "commander.helpDisplayed" ||
        err.code === "commander.version" ||
        err.code === "commander.help"
        ? EXIT.ok
        : EXIT.usage;
    }
    if (err instanceof CliFailure) {
      process.stderr.write(`clearance: ${err.message}\n`);
      return err.exitCode;
    }
    if (isClearanceError(err)) {
      process.stderr.write(`clearance: ${err.code}: ${err.message}\n`);
      return EXIT.usage;
    }
    // Unexpected: one line for the user; the stack only when asked for.
    process.stderr.write(`clearance: internal error: ${(err as Error).message}\n`);
    if (process.env.CLEARANCE_DEBUG) process.stderr.write(`${(err as Error).stack}\n`);
    return EXIT.failed;
  }
}

process.exitCode = await run(process.argv.slice(2));
