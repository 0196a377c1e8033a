/*
 * The wire format of a captured frame as it leaves the capture port, shared
 * by the image (net/capture.c) and the host reader (tools/pktcap). Plain
 * C with no other includes, so host tools can use it beside libpcap. The
 * protocol around it is described in net/capture.h.
 *
 *   Ethernet  dst ff:ff:ff:ff:ff:ff, src = capture port MAC, type 0x88b5
 *   struct capture_wire_hdr (32 bytes, network byte order)
 *   cap_len bytes of the original frame
 */
#ifndef PKTMETAL_NET_CAPTURE_WIRE_H
#define PKTMETAL_NET_CAPTURE_WIRE_H

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
