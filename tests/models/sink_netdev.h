/*
 * A software port for pipeline tests and fuzzing: rx_burst hands out frames
 * a test queued with sink_netdev_inject(); tx_burst takes up to `tx_room`
 * packets per call, keeps a copy of the first bytes of each for the test to
 * look at, and returns the buffers to their pool as a wire would.
 */
#ifndef PKTMETAL_TESTS_SINK_NETDEV_H
#define PKTMETAL_TESTS_SINK_NETDEV_H

#include <stdint.h>

#include "net/netdev.h"

#define SINK_KEEP_FRAMES 256
#define SINK_KEEP_BYTES  128

struct sink_netdev {
    struct netdev nd;
    uint16_t tx_room;                 /* per tx_burst call; default large */
    uint32_t nb_sent;                 /* frames taken by tx_burst */
    uint16_t kept_len[SINK_KEEP_FRAMES];
    uint8_t kept[SINK_KEEP_FRAMES][SINK_KEEP_BYTES];
    struct pktbuf *rx_queue[64];
    uint16_t nb_rx_queued;
};

void sink_netdev_init(struct sink_netdev *s, uint16_t port_id, const uint8_t mac[6],
                      struct pool *pool);
/* Copies a frame into a pool buffer and queues it for rx_burst; 0 or -1. */
int sink_netdev_inject(struct sink_netdev *s, const uint8_t *frame, uint16_t len);

#endif
