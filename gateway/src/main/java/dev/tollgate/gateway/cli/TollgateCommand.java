package dev.tollgate.gateway.cli;

import dev.tollgate.gateway.config.ConfigException;
import java.io.IOException;
import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code tollgate}: the command line (SPEC §7). */
@Command(name = "tollgate", mixinStandardHelpOptions = true, version = "tollgate 0.1.0",
        description = "Meters the posts a post API serves to each entity and prices the liquidated damages.",
        subcommands = {ServeCommand.class, InitCommand.class, DemoCommand.class, ReportCommand.class, VerifyLedgerCommand.class, UpstreamCommand.class,
            CommandLine.HelpCommand.class})
public final class TollgateCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    /** The command line with Tollgate's error handling: a clear message and exit 2 for bad input, never a stack trace. */
    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new TollgateCommand());
        cl.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
            PrintWriter err = commandLine.getErr();
            if (e instanceof ConfigException || e instanceof IllegalArgumentException) {
                err.println("tollgate: " + e.getMessage());
                return 2;
            }
            if (e instanceof IOException) {
                err.println("tollgate: " + e.getMessage());
                return 1;
            }
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
                err.println("tollgate: interrupted");
                return 130;
            }
            err.println("tollgate: " + e);
            return 1;
        });
        return cl;
    }
}
