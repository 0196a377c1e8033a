/*
 * Live capture (DESIGN.md, Interfaces; issue "Visibility").
 *
 * A capture copies packets that pass a classic-BPF filter at chosen capture
 * points — RX of a port, TX of a port, or drops (with the reason) — into a
 * bounded queue, and the main loop sends the copies out of the port given
 * `port N role capture` (a NIC the host reads: QEMU delivers each frame to a
 * UDP socket). Capture never blocks forwarding: when the queue or the pool
 * reserve is short, the copy is not made and is counted as a capture drop.
 * With no capture running, the pipeline pays one predictable branch.
 *
 * Control (COM2, one command per line, replies start with "capture: "):
 *   capture start points=P[,P...] [snap=N] [queue=N] bpf=HEX
 *       P: rxN | txN | dropN | rx* | tx* | drop*   (N = port number)
 *       queue: copies that may wait for the capture port at once, 1..the
 *              queue's size (default: all of it); a small queue makes a
 *              burst shed copies sooner instead of holding pool buffers
 *       HEX: the program, 16 hex digits per instruction: code(4) jt(2) jf(2) k(8)
 *       reply: "capture: ok started points=... insns=N snap=N queue=N" or "capture: error WHY"
 *   capture stop     reply: "capture: ok stopped captured=N queue_drops=N filtered=N"
 *   capture status   reply: "capture: status active=0|1 captured=N queue_drops=N filtered=N points=..."
 *
 * Wire format of a captured frame leaving the capture port:
 *
 *   Ethernet  dst ff:ff:ff:ff:ff:ff, src = capture port MAC, type 0x88b5
 *   struct capture_wire_hdr (32 bytes, network byte order)
 *   cap_len bytes of the original frame
 */
#ifndef PKTMETAL_NET_CAPTURE_H
#define PKTMETAL_NET_CAPTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/bpf.h"
#include "net/capture_wire.h"
#include "net/pktbuf.h"




#define CAPTURE_MAX_PORTS    8
#define CAPTURE_POOL_RESERVE 1024    /* free buffers left for forwarding, always */
#define CAPTURE_DRAIN_BURST  32

struct ring;
struct pool;
struct netdev;

struct capture {
    bool active;
    uint8_t points[3];              /* per capture point: bit N = port N */
    uint32_t snap;
    uint32_t queue_limit;           /* copies waiting at most (queue=) */
    unsigned nb_insns;
    struct bpf_insn prog[BPF_MAX_INSNS];    /* the running filter, always validated */
    struct bpf_insn staged[BPF_MAX_INSNS];  /* a `start`'s filter until it validates */
    struct pool *pool;
    struct ring *queue;             /* copies waiting for the capture port */
    uint8_t src_mac[6];
    uint64_t epoch_ns;              /* wall-clock ns when the pipeline clock read 0 */
    uint32_t seq;
    uint64_t captured;              /* copies queued */
    uint64_t filtered;              /* packets the filter rejected */
    uint64_t queue_drops;           /* copies not made: queue full or pool reserve */
    uint64_t sent;                  /* copies the capture port took */
    uint64_t tx_drops;              /* copies the capture port refused */
};

/* queue: an empty ring (net/ring.h) for the copies; mac: the capture port's. */
void capture_init(struct capture *c, struct pool *pool, struct ring *queue,
                  const uint8_t mac[6], uint64_t epoch_ns);
/* The text after "capture " on the control channel: start/stop/status.
 * Writes the one-line reply (starting "capture: ") into reply. */
void capture_command(struct capture *c, const char *args, uint16_t nb_ports, char *reply,
                     size_t reply_size);

static inline bool capture_wants(const struct capture *c, enum capture_point pt, uint16_t port)
{
    return c->active && port < CAPTURE_MAX_PORTS && ((c->points[pt] >> port) & 1);
}

/* Filters pkt and, if it matches, queues a copy with its capture header. */
void capture_packet(struct capture *c, const struct pktbuf *pkt, enum capture_point pt,
                    uint16_t port, uint16_t drop_reason, uint64_t now_ns);
/* Sends up to CAPTURE_DRAIN_BURST queued copies out of dev (one tx_burst). */
unsigned capture_drain(struct capture *c, struct netdev *dev);

#endif
