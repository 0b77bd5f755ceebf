package dev.tollgate.gateway.proxy;

import io.netty.util.concurrent.EventExecutor;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * A deadline on how long a connection may keep the gateway waiting for the client: it runs only
 * while the gateway waits ({@link #waiting}) and stops when the client delivers ({@link #stop}),
 * so time the gateway spends on the upstream's side is never held against the client.
 *
 * <p>At most one task is scheduled per connection and timeout period, whatever the number of
 * reads: a read only moves a field, and the task, when it runs early, schedules itself again for
 * what is left (the way Netty's {@code IdleStateHandler} does). Runs on the connection's event loop.
 */
final class WaitDeadline {
    private final EventExecutor loop;
    private final long timeoutNanos;
    private final Runnable expired;
    /** Since when the gateway waits (the loop's ticker); {@code NOT_WAITING} when it does not. */
    private long since = NOT_WAITING;
    private ScheduledFuture<?> task;

    private static final long NOT_WAITING = Long.MIN_VALUE;

    WaitDeadline(EventExecutor loop, long timeoutNanos, Runnable expired) {
        this.loop = loop;
        this.timeoutNanos = timeoutNanos;
        this.expired = expired;
    }

    /** The gateway waits for the client from now on, unless it already did (then the earlier start holds). */
    void waiting() {
        if (since == NOT_WAITING) {
            restart();
        }
    }

    /** The client made progress and the gateway still waits for more: the gap counts from now. */
    void restart() {
        since = loop.ticker().nanoTime();
        if (task == null) {
            task = loop.schedule(this::check, timeoutNanos, TimeUnit.NANOSECONDS);
        }
    }

    /** The gateway no longer waits for the client. */
    void stop() {
        since = NOT_WAITING;
    }

    boolean isWaiting() {
        return since != NOT_WAITING;
    }

    /** Stops and drops the scheduled task (the connection is closing). */
    void cancel() {
        since = NOT_WAITING;
        if (task != null) {
            task.cancel(false);
            task = null;
        }
    }

    private void check() {
        task = null;
        if (since == NOT_WAITING) {
            return; // the next waiting() schedules again
        }
        long left = since + timeoutNanos - loop.ticker().nanoTime();
        if (left > 0) {
            task = loop.schedule(this::check, left, TimeUnit.NANOSECONDS);
            return;
        }
        since = NOT_WAITING;
        expired.run();
    }
}
