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
 *   capture start points=P[,P...] [snap=N] bpf=HEX
 *       P: rxN | txN | dropN | rx* | tx* | drop*   (N = port number)
 *       HEX: the program, 16 hex digits per instruction: code(4) jt(2) jf(2) k(8)
 *       reply: "capture: ok started points=... insns=N snap=N" or "capture: error WHY"
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

#include <stdint.h>

#define CAPTURE_ETHERTYPE 0x88b5       /* IEEE 802 local experimental */
#define CAPTURE_MAGIC     0x504d4350u  /* "PMCP" */
#define CAPTURE_VERSION   1

enum capture_point {
    CAPTURE_POINT_RX = 0,
    CAPTURE_POINT_TX = 1,
    CAPTURE_POINT_DROP = 2,
};

struct capture_wire_hdr {
    uint32_t magic;          /* CAPTURE_MAGIC */
    uint8_t version;         /* CAPTURE_VERSION */
    uint8_t point;           /* enum capture_point */
    uint16_t port;           /* port the packet was received on (rx, drop) or sent by (tx) */
    uint16_t drop_reason;    /* enum drop_reason for CAPTURE_POINT_DROP, else 0 */
    uint16_t reserved;
    uint32_t orig_len;       /* frame length on the wire, without FCS */
    uint32_t cap_len;        /* bytes that follow (snap length applied) */
    uint64_t ts_ns;          /* nanoseconds since 1970-01-01 UTC (boot wall clock + TSC) */
    uint32_t seq;            /* 0, 1, 2, ... per capture: the host sees copies lost on the way */
} __attribute__((packed));
_Static_assert(sizeof(struct capture_wire_hdr) == 32, "capture header");

#endif
