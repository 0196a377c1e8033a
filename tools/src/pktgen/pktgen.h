/*
 * pktgen: a traffic generator and sink for pktmetal's QEMU netdevs.
 *
 * Each --port is one simulated host on one guest NIC. QEMU's `-netdev dgram`
 * carries every Ethernet frame as one UDP datagram on 127.0.0.1: QEMU reads
 * the guest's incoming frames on GUEST_PORT and sends the guest's outgoing
 * frames to HOST_PORT. pktgen binds HOST_PORT and sends to GUEST_PORT.
 *
 *   pktgen port 0 ----udp----> QEMU NIC 0 --> guest --> QEMU NIC 1 ----udp----> pktgen port 1
 *   127.0.0.1:HOST0   GUEST0                                     HOST1
 *
 * A stream TX=RX sends --count frames on port TX and expects them on port RX.
 * Everything runs in one thread: the main loop paces the senders, drains the
 * receivers and keeps per-stream accounting (main.c, tx.c, rx.c), report.c
 * prints the summary and judges the expectations.
 */
#ifndef PKTGEN_PKTGEN_H
#define PKTGEN_PKTGEN_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "frame.h"

struct pollfd;
struct tx_queue;
struct rx_batch;
struct capture;

#define PG_MAX_PORTS     32
#define PG_MAX_STREAMS   64
#define PG_BURST         32          /* frames per sendmmsg/recvmmsg */
#define PG_RX_SLOT_BYTES 10240       /* room for a jumbo frame; longer ones arrive truncated */
#define PG_MAX_FLOWS     (1u << 24)
#define PG_MAX_MIXES     8           /* --mix sources */
#define PG_MAX_MIX_EVERY 1000000

#define EXIT_PASS  0
#define EXIT_FAIL  1
#define EXIT_USAGE 2

struct pg_port_counters {
	uint64_t tx;            /* frames handed to the kernel */
	uint64_t tx_errors;     /* sendmmsg refused the frame */
	uint64_t rx;            /* every datagram received */
	uint64_t ours;          /* test frames of this run, any verdict, any stream */
	uint64_t foreign;       /* not ours (no tag, other run) and not an ARP we answered */
	uint64_t stray;         /* intact test frames of a stream that ends elsewhere */
	uint64_t corrupt;       /* damaged test frames */
	uint64_t arp_replied;
	uint64_t sock_drops;    /* dropped by our own socket (SO_RXQ_OVFL) */
};

struct pg_port {
	bool defined;
	uint16_t host_port;     /* we bind this */
	uint16_t guest_port;    /* QEMU listens here */
	uint8_t mac[6];
	bool has_ip;
	uint32_t ip;            /* host byte order */
	bool check_smac, check_dmac;
	uint8_t expect_smac[6], expect_dmac[6];
	bool check_ttl;
	uint8_t expect_ttl;
	bool has_dst_mac, has_dst_ip;   /* per-TX-port --dst-mac/--dst-ip */
	uint8_t dst_mac[6];
	uint32_t dst_ip;
	bool is_rx;             /* some stream ends here */

	int fd;
	struct sockaddr_in guest_addr;
	struct tx_queue *txq;
	struct rx_batch *rxb;
	struct pg_port_counters c;
	int64_t peer_drops_at_start;    /* QEMU's socket, from /proc/net/udp; -1 unknown */
};

struct pg_stream {
	int tx, rx;                   /* port numbers */
	struct frame_addr addr;       /* flow 0; other flows vary sip/sport */
	uint64_t next_index;          /* frame index k to build next */
	uint64_t sent, received, reordered, duplicate, corrupt, mac_mismatch, ttl_mismatch, tx_errors;
	uint32_t *flow_next_seq;      /* per flow: highest flow_seq seen + 1 */
	uint64_t *seen;               /* bit k: frame index k arrived */
	uint64_t lat_samples, lat_min_ns, lat_max_ns;
	double lat_sum_ns;
};

enum pg_size_kind { PG_SIZE_FIXED, PG_SIZE_RANGE, PG_SIZE_IMIX };

/* Frames loaded from a pcap: what --replay sends once, or a --mix source
 * sends in a cycle between the streams' frames. */
struct pg_replay {
	const char *path;
	int port;
	uint8_t **frames;
	uint32_t *lens;
	uint64_t nb_frames;
	uint64_t next;                /* --mix: frames handed out so far (next % nb_frames is due) */
	uint64_t sent, tx_errors;     /* --mix: what sendmmsg took and refused */
};

struct pktgen {
	struct pg_port ports[PG_MAX_PORTS];
	struct pg_stream streams[PG_MAX_STREAMS];
	int nb_streams;

	/* traffic shape */
	uint64_t count;               /* frames per stream */
	enum pg_size_kind size_kind;
	uint16_t size_min, size_max;
	uint32_t flows;
	bool rate_max;
	double rate_pps;
	bool has_dst_mac, has_dst_ip; /* global --dst-mac/--dst-ip */
	uint8_t dst_mac[6];
	uint32_t dst_ip;
	uint8_t ttl;
	uint16_t udp_dport;
	struct pg_replay replay;
	struct pg_replay mixes[PG_MAX_MIXES];   /* --mix PORT=FILE */
	int nb_mixes;
	uint32_t mix_every;           /* one frame of each mix after every mix_every stream frames */
	double duration_s;            /* --duration: 0 = until --count frames are sent */
	bool count_given;             /* --count was on the command line */

	/* run control */
	const char *write_path;
	bool pcap_nano;
	uint32_t wait_ms;
	double timeout_s;
	bool expect_all, expect_none, expect_count;
	uint64_t expect_count_n;
	bool quiet;
	unsigned verbose;             /* anomalies still to print (--verbose) */
	uint8_t run_tag;

	/* pacing and timing, CLOCK_MONOTONIC ns */
	uint64_t total_frames;        /* to send, all streams or the replay */
	unsigned tx_burst;            /* frames built per loop turn at most */
	uint64_t generated;           /* built so far: the global sequence */
	uint64_t pace_start_ns;
	uint64_t pace_slips;          /* times the schedule was moved to avoid a burst */
	uint64_t start_ns, first_tx_ns, last_tx_ns, last_rx_ns, last_progress_ns;
	bool timed_out, interrupted;
	bool duration_ended;          /* --duration stopped the sending before --count */

	struct capture *capture;
};

/* cli.c */
int cli_parse(struct pktgen *pg, int argc, char **argv);
void cli_usage(FILE *out);

/* ports.c */
int ports_open(struct pktgen *pg);
void ports_close(struct pktgen *pg);
int ports_poll_fds(struct pktgen *pg, struct pollfd *fds, int *port_of);
int64_t ports_peer_drops(uint16_t port);

/* tx.c */
int tx_init(struct pktgen *pg);
unsigned tx_run(struct pktgen *pg, uint64_t now_ns);
bool tx_done(const struct pktgen *pg);
uint64_t tx_next_due_ns(const struct pktgen *pg);
int replay_load(struct pktgen *pg);
int mixes_load(struct pktgen *pg);

/* rx.c */
int rx_init(struct pktgen *pg);
unsigned rx_poll(struct pktgen *pg, struct pg_port *port);
bool rx_all_arrived(const struct pktgen *pg);

/* capture.c */
struct capture *capture_open(const char *path, bool nano);
void capture_write(struct capture *cap, const uint8_t *frame, uint32_t len, uint32_t orig_len);
void capture_close(struct capture *cap);

/* report.c */
void report_progress(struct pktgen *pg, uint64_t now_ns);
int report_summary(struct pktgen *pg, FILE *out);
void report_anomaly(struct pktgen *pg, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

uint64_t mono_ns(void);

#endif
