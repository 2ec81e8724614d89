package dev.conductor.player;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A step's process started by the {@link Launcher}: not a child of this JVM but of the launcher,
 * which reports its exit. Seen through the same {@link Process} API as one the JVM started, so
 * that the rest of the player does not tell them apart.
 */
final class LaunchedProcess extends Process {
    private final long pid;
    /** Taken while the process lived, so that it knows its start time: a pid handed out again is not this one. */
    private final ProcessHandle handle;
    private final CompletableFuture<Integer> exit;
    private final InputStream stdout;
    private final InputStream stderr;
    private final OutputStream stdin;
    private final Runnable settle;

    /**
     * @param stdin  the pipe to its stdin, or null when it reads /dev/null
     * @param settle what is left to do once it has started (see {@link #settle()})
     */
    LaunchedProcess(long pid, ProcessHandle handle, CompletableFuture<Integer> exit, InputStream stdout,
                    InputStream stderr, OutputStream stdin, Runnable settle) {
        this.pid = pid;
        this.settle = settle;
        this.handle = handle;
        this.exit = exit;
        this.stdout = stdout;
        this.stderr = stderr;
        this.stdin = stdin != null ? stdin : new OutputStream() {
            @Override
            public void write(int b) throws IOException {
                throw new IOException("Stream closed: this step's stdin is /dev/null");
            }
        };
    }

    /**
     * Closes what its start left open on this side; called once it has started, off the start
     * instant's path (a start is one write, see {@link Launcher.Spare#arm}).
     */
    void settle() {
        settle.run();
    }

    @Override
    public OutputStream getOutputStream() {
        return stdin;
    }

    @Override
    public InputStream getInputStream() {
        return stdout;
    }

    @Override
    public InputStream getErrorStream() {
        return stderr;
    }

    @Override
    public int waitFor() throws InterruptedException {
        try {
            return exit.get();
        } catch (ExecutionException e) {
            throw new IllegalStateException(e.getCause());
        }
    }

    @Override
    public boolean waitFor(long timeout, TimeUnit unit) throws InterruptedException {
        try {
            exit.get(timeout, unit);
            return true;
        } catch (TimeoutException e) {
            return false;
        } catch (ExecutionException e) {
            throw new IllegalStateException(e.getCause());
        }
    }

    @Override
    public int exitValue() {
        Integer code = exit.getNow(null);
        if (code == null) {
            throw new IllegalThreadStateException("process " + pid + " has not exited");
        }
        return code;
    }

    @Override
    public boolean isAlive() {
        return !exit.isDone();
    }

    @Override
    public void destroy() {
        if (handle != null) {
            handle.destroy();
        }
    }

    @Override
    public Process destroyForcibly() {
        if (handle != null) {
            handle.destroyForcibly();
        }
        return this;
    }

    @Override
    public boolean supportsNormalTermination() {
        return true;
    }

    @Override
    public long pid() {
        return pid;
    }

    @Override
    public ProcessHandle toHandle() {
        if (handle == null) {
            throw new UnsupportedOperationException("process " + pid + " had exited before it was looked at");
        }
        return handle;
    }

    @Override
    public CompletableFuture<Process> onExit() {
        return exit.thenApply(code -> this);
    }

    @Override
    public String toString() {
        return "LaunchedProcess[pid=" + pid + ", exitValue=" + (exit.isDone() ? exit.getNow(null) : "\"not exited\"") + "]";
    }
}
