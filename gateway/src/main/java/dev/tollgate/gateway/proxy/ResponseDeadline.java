package dev.tollgate.gateway.proxy;

import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * The upstream response deadline of one client connection's exchanges ({@code upstream.responseTimeout}).
 *
 * <p>A task scheduled and cancelled per request costs an insertion into and a removal from the
 * event loop's timer queue each time (2–3% of the gateway's CPU under load). Instead, as Netty's
 * {@code IdleStateHandler} does, one task per connection is kept: arming only records the exchange
 * and its deadline, and schedules the task if none is pending; disarming only forgets the exchange.
 * When the task runs early (its exchange was answered, and a later one armed a later deadline) it
 * schedules itself for what is left. The task is cancelled once, when the connection closes.
 * Used from the connection's event loop only.
 */
final class ResponseDeadline implements Runnable {
    private final EventExecutor loop;
    private Exchange waiting;
    private long deadlineNanos;
    private ScheduledFuture<?> task;

    ResponseDeadline(EventExecutor loop) {
        this.loop = loop;
    }

    /** {@code x} times out unless answered within {@code timeoutNanos} from now. */
    void arm(Exchange x, long timeoutNanos) {
        waiting = x;
        deadlineNanos = loop.ticker().nanoTime() + timeoutNanos;
        if (task == null) {
            task = loop.schedule(this, timeoutNanos, TimeUnit.NANOSECONDS);
        }
    }

    /** {@code x} no longer waits for its response (answered or failed). */
    void disarm(Exchange x) {
        if (waiting == x) {
            waiting = null;
        }
    }

    /** The connection closed: nothing left to time. */
    void close() {
        waiting = null;
        if (task != null) {
            task.cancel(false);
            task = null;
        }
    }

    @Override
    public void run() {
        task = null;
        Exchange x = waiting;
        if (x == null) {
            return;
        }
        long left = deadlineNanos - loop.ticker().nanoTime();
        if (left > 0) {
            task = loop.schedule(this, left, TimeUnit.NANOSECONDS);
            return;
        }
        waiting = null;
        x.responseTimedOut();
    }
}
