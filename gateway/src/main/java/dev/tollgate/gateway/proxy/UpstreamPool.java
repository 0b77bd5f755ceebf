package dev.tollgate.gateway.proxy;

import io.netty.channel.Channel;
import java.util.ArrayDeque;

/**
 * Idle keep-alive connections to the upstream, one pool per event loop, used only from that loop
 * (so no locks): the client connection and its upstream connection share the loop. Last in, first
 * out, so the warmest connections are reused and the rest reach the idle timeout and close.
 *
 * <p>A pooled connection is read while it waits ({@link #offer} asks for a read, which the next
 * exchange would ask for anyway: no extra system call), so one that closes or sends anything out of
 * turn is closed there ({@link BackendHandler}) and never handed to a request.
 */
final class UpstreamPool {
    private final ArrayDeque<Channel> idle = new ArrayDeque<>();
    private final int max;

    UpstreamPool(int max) {
        this.max = max;
    }

    /** An open idle connection, or null. */
    Channel poll() {
        Channel ch;
        while ((ch = idle.pollFirst()) != null) {
            if (ch.isActive()) {
                return ch;
            }
        }
        return null;
    }

    /** Keeps {@code ch} for reuse, or closes it when the pool is full. */
    void offer(Channel ch) {
        if (ch.isActive() && idle.size() < max) {
            idle.addFirst(ch);
            ch.read();
        } else {
            ch.close();
        }
    }

    void remove(Channel ch) {
        idle.remove(ch);
    }

    int size() {
        return idle.size();
    }
}
