/*
 * The port interface every NIC driver fills in (DESIGN.md, Hot path).
 *
 * Burst calls return counts. rx_burst hands over up to nb received buffers
 * (refilling the ring from the port's pool as it goes); tx_burst takes up to
 * nb buffers and returns how many it took: the caller still owns the rest,
 * frees them and they are counted in stats.tx_full by the driver. A buffer
 * taken by tx_burst returns to its pool when the device has sent it.
 */
#ifndef PKTMETAL_NET_NETDEV_H
#define PKTMETAL_NET_NETDEV_H

#include <stdbool.h>
#include <stdint.h>

#include "net/pktbuf.h"

struct netdev;

struct netdev_stats {
    uint64_t rx_packets, rx_bytes;
    uint64_t tx_packets, tx_bytes;
    uint64_t rx_missed;      /* device-reported overflow (e1000 MPC); QEMU may not count */
    uint64_t rx_nobuf;       /* RX refills that found the pool empty */
    uint64_t tx_full;        /* packets tx_burst could not take */
    uint64_t link_changes;
};

/* A port's answer when the idle loop wants to halt (rx_wake). */
enum netdev_wake {
    NETDEV_WAKE_NONE,        /* the device cannot interrupt the CPU: do not count on it */
    NETDEV_WAKE_OFF,         /* disarmed: it will not interrupt (the loop polls) */
    NETDEV_WAKE_ARMED,       /* it interrupts on its next received frame; none is waiting */
    NETDEV_WAKE_PENDING,     /* armed, but a frame is already waiting: poll, do not halt */
};

struct netdev_ops {
    uint16_t (*rx_burst)(struct netdev *dev, struct pktbuf **pkts, uint16_t nb);
    uint16_t (*tx_burst)(struct netdev *dev, struct pktbuf **pkts, uint16_t nb);
    /* Reads link state from the device; updates link_up and link_changes. */
    bool (*link_poll)(struct netdev *dev);
    void (*set_promisc)(struct netdev *dev, bool on);
    /* Quiesces the device and returns every buffer it holds (RX ring, TX
     * in flight) to the pool. */
    void (*stop)(struct netdev *dev);
    /*
     * Optional (NULL: NETDEV_WAKE_NONE). Wake-on-receive for the idle halt
     * (kernel/idle.c); the packet path stays polled. nb_frames > 0: ask the
     * device to interrupt once nb_frames received frames wait unread (a
     * device that cannot count interrupts on the next one), then look at
     * the RX ring once more: ARMED, PENDING (that many already wait) or
     * NONE. 0: stop interrupting: OFF, or NONE.
     */
    enum netdev_wake (*rx_wake)(struct netdev *dev, uint16_t nb_frames);
};

struct netdev {
    const struct netdev_ops *ops;
    const char *driver;          /* "e1000", "virtio-net" */
    uint16_t port_id;
    uint8_t mac[6];
    bool link_up;
    bool promisc;
    uint16_t rx_ring_size, tx_ring_size;
    struct pool *pool;           /* RX refills come from here */
    struct netdev_stats stats;
};

/* What the kernel asks of a driver when it binds a port. */
struct netdev_config {
    uint16_t port_id;
    uint16_t rx_ring_size;       /* power of two */
    uint16_t tx_ring_size;       /* power of two */
    bool promisc;
    struct pool *pool;
};

static inline uint16_t netdev_rx_burst(struct netdev *dev, struct pktbuf **pkts, uint16_t nb)
{
    return dev->ops->rx_burst(dev, pkts, nb);
}

static inline enum netdev_wake netdev_rx_wake(struct netdev *dev, uint16_t nb_frames)
{
    return dev->ops->rx_wake ? dev->ops->rx_wake(dev, nb_frames) : NETDEV_WAKE_NONE;
}

static inline uint16_t netdev_tx_burst(struct netdev *dev, struct pktbuf **pkts, uint16_t nb)
{
    return dev->ops->tx_burst(dev, pkts, nb);
}

#endif
