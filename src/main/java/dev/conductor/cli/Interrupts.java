package dev.conductor.cli;

import dev.conductor.conduct.Conductor;
import sun.misc.Signal;
import sun.misc.SignalHandler;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Ctrl-C and SIGTERM for {@code conduct}. The first Ctrl-C aborts the running phase on every
 * player, lets Reset run and the reports be written, then exits 130; a second one exits at once.
 * SIGTERM behaves like the first Ctrl-C and waits (bounded) for the same orderly end.
 */
final class Interrupts {
    private final Conductor conductor;
    private final CountDownLatch done;
    private final Thread hook;
    private SignalHandler previousInt;
    private volatile int count;

    private final Runnable beforeHalt;

    private Interrupts(Conductor conductor, CountDownLatch done, Runnable beforeHalt) {
        this.beforeHalt = beforeHalt;
        this.conductor = conductor;
        this.done = done;
        this.hook = new Thread(this::onTerminate, "conduct-terminate");
    }

    /** @param beforeHalt run before a second Ctrl-C ends the process (kills what local players started) */
    static Interrupts install(Conductor conductor, CountDownLatch done, Runnable beforeHalt) {
        Interrupts i = new Interrupts(conductor, done, beforeHalt);
        try {
            i.previousInt = Signal.handle(new Signal("INT"), sig -> i.onInterrupt());
        } catch (IllegalArgumentException e) {
            // No INT on this platform (or it is ignored): the shutdown hook still covers TERM.
        }
        Runtime.getRuntime().addShutdownHook(i.hook);
        return i;
    }

    private void onInterrupt() {
        if (++count == 1) {
            System.err.println("\nconduct: interrupted: aborting the running phase, then running Reset and writing"
                    + " the report (Ctrl-C again to quit at once)");
            conductor.interrupt();
        } else {
            System.err.println("\nconduct: quitting at once; players end their sessions with us and kill what we started");
            beforeHalt.run();
            Runtime.getRuntime().halt(Conductor.EXIT_INTERRUPTED);
        }
    }

    private void onTerminate() {
        conductor.interrupt();
        try {
            done.await(120, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    void uninstall() {
        if (previousInt != null) {
            Signal.handle(new Signal("INT"), previousInt);
        }
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException e) {
            // Already shutting down: the hook is running and sees 'done'.
        }
    }
}
