/*
 * The packet pipeline (DESIGN.md, Hot path): everything that happens to a
 * burst between rx_burst and tx_burst, run to completion.
 *
 *   rx burst (<= 32) --> [hook] --> parse --> ACL --> mode --> per-port TX batch
 *                          |          |        |        |          |
 *                          +----------+--------+--------+--> drops, by reason
 *
 *   hook    the slot for a per-packet program (XDP-style verdicts: pass, drop,
 *           tx back out the input port, redirect to a port); empty today
 *   mode    l2fwd / reflect: rewrite and send to the paired / same port
 *           bridge: learn, then forward, flood (copies) or filter
 *           router: router_input() (ARP, ICMP, forwarding)
 *
 * Packets leave through per-port batches that pipeline_flush() hands to
 * tx_burst once per burst (one doorbell); what a port cannot take is freed
 * and counted. Drops are collected and freed in bulk at the end of a burst.
 */
#ifndef PKTMETAL_NET_PIPELINE_H
#define PKTMETAL_NET_PIPELINE_H

#include <stdbool.h>
#include <stdint.h>

#include "net/acl.h"
#include "net/config.h"
#include "net/drop.h"
#include "net/netdev.h"
#include "net/pktbuf.h"
#include "net/router.h"

#define PIPELINE_MAX_PORTS  CONFIG_MAX_PORTS
#define PIPELINE_BURST      32
#define PIPELINE_TX_BATCH   64          /* per port; a full batch is flushed early */
#define PIPELINE_DROP_BATCH 64

struct bridge;
struct capture;
struct router;
struct pool;

/* What a per-packet program decides (the hook right after RX). */
enum pipeline_verdict {
    PIPELINE_PASS,       /* continue into the pipeline */
    PIPELINE_DROP,       /* drop, counted as DROP_PROGRAM */
    PIPELINE_TX,         /* send back out the input port as it is */
    PIPELINE_REDIRECT,   /* send out *port as it is */
};
typedef enum pipeline_verdict (*pipeline_prog_fn)(void *ctx, struct pktbuf *pkt,
                                                  uint16_t *port);

struct pipeline_port {
    struct netdev *dev;
    uint16_t l2fwd_out;                 /* l2fwd/reflect output, or 0xffff */
    uint8_t peer_mac[6];                /* l2fwd destination for frames leaving here */
    uint16_t nb_tx;
    struct pktbuf *tx[PIPELINE_TX_BATCH];
};

struct pipeline {
    enum config_mode mode;
    uint16_t nb_ports;
    struct pipeline_port ports[PIPELINE_MAX_PORTS];
    struct acl *acl;                    /* NULL or empty: nothing filtered */
    struct bridge *bridge;              /* mode bridge */
    struct router *router;              /* mode router */
    struct pool *pool;                  /* copies when the bridge floods */
    struct capture *capture;            /* NULL or inactive: no copies, one branch */
    pipeline_prog_fn prog;              /* NULL: the hook passes everything */
    void *prog_ctx;
    uint64_t now_ns;                    /* of the burst being run */
    /* Every buffer is accounted for (DESIGN.md, Hot path: nothing dropped
     * silently): received + copies + what the router makes (ARP requests,
     * ICMP errors) = forwarded + drops by reason + consumed (drops[NONE]:
     * used up, e.g. an ARP reply learned) + parked (waiting for ARP). */
    uint64_t received;                  /* packets pipeline_run was given */
    uint64_t copies;                    /* flood copies wanted (a missing one is NO_BUFFER) */
    uint64_t drops[DROP__COUNT];
    uint64_t forwarded;                 /* packets the ports' TX took */
    uint16_t nb_dropped;
    struct pktbuf *dropped[PIPELINE_DROP_BATCH];
    /* Router mode's fast path: where it puts packets, pointed at the
     * batches above for each burst. Ports past nb_ports stay NULL. */
    struct router_burst_out router_out;
};

/* The buffer ledger: in = received + generated; out = forwarded + dropped
 * + consumed + parked. in == out whenever no burst is being run. */
struct pipeline_accounting {
    uint64_t received;                  /* from the ports' RX */
    uint64_t generated;                 /* flood copies, router ARP requests and ICMP errors */
    uint64_t forwarded;                 /* taken by the ports' TX */
    uint64_t dropped;                   /* sum of drops[] but DROP_NONE */
    uint64_t consumed;                  /* used up inside (drops[DROP_NONE]) */
    uint64_t parked;                    /* waiting for ARP resolution now */
};

void pipeline_get_accounting(const struct pipeline *pl, struct pipeline_accounting *a);

/* Sets up l2fwd pairs and peer MACs from cfg; mode-specific tables (bridge,
 * router, acl) are attached by the caller before the first burst. */
void pipeline_init(struct pipeline *pl, const struct config *cfg, struct netdev **devs,
                   uint16_t nb_ports, struct pool *pool);
/* Runs a burst received on in_port; packets end in TX batches or drops. */
void pipeline_run(struct pipeline *pl, uint16_t in_port, struct pktbuf **pkts, uint16_t n,
                  uint64_t now_ns);
/* Hands every TX batch to its port (one tx_burst each) and frees drops. */
void pipeline_flush(struct pipeline *pl);
/* For modules that make or consume packets (router emit/drop callbacks). */
void pipeline_emit(struct pipeline *pl, uint16_t port, struct pktbuf *pkt);
void pipeline_drop(struct pipeline *pl, struct pktbuf *pkt, enum drop_reason why);

#endif
