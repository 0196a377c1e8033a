/*
 * pktcap: tcpdump for pktmetal. It compiles a filter expression on the host
 * (libpcap), asks the image to run it at chosen capture points, receives the
 * copies the image sends out of its capture port and writes them as pcapng.
 *
 *            control (unix socket = the image's COM2, one line a command)
 *   pktcap <---------------------------------------------------------> image
 *      ^     "capture start points=rx0,drop* snap=N bpf=HEX" / "capture: ok ..."
 *      |
 *      +---- UDP 127.0.0.1:capture_udp <-- QEMU -netdev dgram <-- capture port
 *            one datagram per copy: Ethernet(0x88b5) | capture_wire_hdr | frame
 *
 * The wire format and the commands are net/capture.h; drop reason names come
 * from net/drop.h. Everything runs in one thread (main.c): poll the UDP socket
 * and the control socket, write each copy (pcapng.c, or a text line from
 * print.c), and stop on a signal, -c, --duration or --timeout with
 * "capture stop". The other files: cli.c (options), runfile.c (the QEMU
 * launcher's JSON), filter.c (BPF and the start command), control.c (the
 * line protocol), wire.c (the UDP socket and datagram checks).
 */
#ifndef PKTCAP_PKTCAP_H
#define PKTCAP_PKTCAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/*
 * Neither <pcap/pcap.h> nor net/capture.h is included here: net/capture.h
 * brings net/bpf.h, whose struct bpf_insn and bpf_validate() clash with
 * libpcap's. So filter.c alone sees libpcap, wire.c alone sees the image's
 * headers, and both translate into the types below.
 */

#define EXIT_OK    0
#define EXIT_FAIL  1     /* runtime: sockets, no reply, write errors */
#define EXIT_USAGE 2     /* options, filter, run file */

#define PC_MAX_PORTS     64          /* ports named by -i or listed in the run file */
#define PC_NB_WIRE_PORTS 65536       /* capture_wire_hdr.port is 16 bits */
#define PC_DEFAULT_SNAP  65535
#define PC_REPLY_TIMEOUT_S 5.0      /* the image answers a command within 5 s */
#define PC_DEFAULT_RUN_FILE "build/run/current.json"

/* Capture points, numbered as enum capture_point (wire.c checks). */
enum pc_point {
	PC_POINT_RX,
	PC_POINT_TX,
	PC_POINT_DROP,
};

#define PC_POINT_MASK_ALL ((1u << PC_POINT_RX) | (1u << PC_POINT_TX) | (1u << PC_POINT_DROP))

/* One classic-BPF instruction, as libpcap's struct bpf_insn. */
struct pc_insn {
	uint16_t code;
	uint8_t jt;
	uint8_t jf;
	uint32_t k;
};

/* One pktmetal port as the run file describes it. */
struct pc_port {
	uint16_t index;
	char model[32];          /* "e1000", "virtio-net-pci"; "" if unknown */
	bool has_mac;
	uint8_t mac[6];
};

/* Why a datagram was not a capture copy; counted, never fatal. */
enum pc_bad {
	PC_BAD_NONE,             /* a valid copy */
	PC_BAD_TRUNCATED,        /* longer than our receive buffer */
	PC_BAD_SHORT,            /* shorter than Ethernet + capture_wire_hdr */
	PC_BAD_ETHERTYPE,        /* not 0x88b5 */
	PC_BAD_MAGIC,
	PC_BAD_VERSION,
	PC_BAD_POINT,
	PC_BAD_LENGTH,           /* cap_len > orig_len, > snap, or past the datagram */
	PC_BAD__COUNT
};

/* A valid copy: the header in host byte order and the captured bytes. */
struct pc_frame {
	uint8_t point;           /* enum pc_point */
	uint16_t port;
	uint16_t drop_reason;
	uint32_t orig_len;
	uint32_t cap_len;
	uint64_t ts_ns;
	uint32_t seq;
	const uint8_t *data;
};

/* What the image said in reply to "capture stop". */
struct pc_image_counts {
	bool valid;
	uint64_t captured;
	uint64_t queue_drops;
	bool has_filtered;
	uint64_t filtered;           /* packets the filter rejected */
	bool has_sent;
	uint64_t sent;               /* copies the capture port took */
	uint64_t tx_drops;           /* copies the capture port refused */
};

struct pc_counters {
	uint64_t received;       /* valid copies */
	uint64_t written;
	uint64_t not_written;    /* arrived after -c COUNT was reached */
	uint64_t bad[PC_BAD__COUNT];
	uint64_t seq_next;       /* next expected seq, unwrapped to 64 bits */
	uint64_t seq_lost;       /* in gaps between copies that did arrive */
	uint64_t seq_gaps;       /* number of gaps */
	uint64_t seq_late;       /* seq below the expected one: duplicate or reordered */
	uint64_t tail_lost;      /* image's captured count beyond the last seq seen */
};

enum pc_stop {
	PC_STOP_NONE,
	PC_STOP_SIGNAL,
	PC_STOP_COUNT,
	PC_STOP_DURATION,
	PC_STOP_TIMEOUT,
	PC_STOP_OUTPUT_CLOSED,   /* the reader of -w - went away */
	PC_STOP_OUTPUT_ERROR,
	PC_STOP_CONTROL_LOST,    /* the image (QEMU) closed the control socket */
	PC_STOP_SOCKET_ERROR,
};

struct control;
struct pcapng;

struct pktcap {
	/* options (cli.c) */
	bool all_ports;                  /* no -i, or -i '*' */
	int nb_sel_ports;
	uint16_t sel_ports[PC_MAX_PORTS];
	unsigned point_mask;             /* 1 << enum pc_point */
	uint32_t snaplen;
	uint32_t queue;                  /* --queue; 0: the image's whole queue */
	const char *control_path;
	int capture_udp;                 /* 0: not given */
	const char *run_path;            /* --run; NULL: the default, if needed */
	const char *write_path;          /* NULL: one text line per packet on stdout */
	uint64_t count;                  /* 0: no limit */
	double duration_s, timeout_s;    /* 0: none */
	double reply_timeout_s;          /* how long to wait for "capture: " replies */
	bool dump_program;               /* -d: print program and command, exit */
	char *filter_expr;

	/* from the run file */
	const char *run_loaded;          /* path actually read, for messages */
	char *control_owned;             /* control_path when it came from the file */
	int nb_ports;
	struct pc_port ports[PC_MAX_PORTS];

	/* the filter and the command sent (filter.c) */
	struct pc_insn *prog;
	unsigned nb_insns;
	char *start_cmd;
	char points_text[2048];

	/* runtime */
	int udp_fd;
	bool udp_failed;                 /* recv failed: no more copies to read */
	struct control *ctl;
	struct pcapng *out;
	int out_watch_fd;                /* stdout when a pipe reads it, else -1 */
	bool out_closed;                 /* its reader went away (EPIPE, POLLERR) */
	bool out_error;                  /* any other write error */
	int32_t *iface_of_port;          /* wire port -> pcapng interface id, -1 none yet */
	uint32_t snap_in_use;            /* ours, or less if the image said so */
	uint64_t start_ns, capture_start_ns;
	enum pc_stop stop;
	struct pc_counters c;
	struct pc_image_counts image;
	bool stop_replied;
};

/* cli.c */
int cli_parse(struct pktcap *pc, int argc, char **argv);

/* runfile.c: reads --run or the default run file when something is missing. */
int runfile_apply(struct pktcap *pc);
const struct pc_port *runfile_port(const struct pktcap *pc, uint16_t index);

/* filter.c */
int filter_compile(struct pktcap *pc);
int filter_build_command(struct pktcap *pc);
void filter_dump(const struct pktcap *pc, FILE *out);

/* control.c: the image's control line. */
struct control *control_connect(const char *path);
int control_fd(const struct control *ctl);
int control_send(struct control *ctl, const char *line);
/* Reads what is available; 1: *reply holds a "capture: " line, 0: not yet, -1: closed/error. */
int control_pump(struct control *ctl, char *reply, size_t reply_bytes);
void control_close(struct control *ctl);

/* wire.c: the capture UDP port. */
int wire_open(int udp_port);
/* PC_BAD_NONE and *f filled in, or why the datagram is not a copy. */
enum pc_bad wire_parse(const uint8_t *dgram, size_t len, uint32_t snaplen, struct pc_frame *f);
void seq_account(struct pc_counters *c, uint32_t seq);
const char *wire_bad_name(enum pc_bad bad);
const char *drop_name(uint16_t reason);

/* pcapng.c */
struct pcapng *pcapng_open(const char *path);
int pcapng_write_shb(struct pcapng *w);
int pcapng_add_iface(struct pcapng *w, const char *name, const char *description,
		     const uint8_t *mac, uint32_t snaplen);
int pcapng_write_packet(struct pcapng *w, uint32_t iface, const struct pc_frame *f,
			const char *comment);
int pcapng_close(struct pcapng *w);

/* print.c: without -w, one line per packet. */
void print_frame(FILE *out, const struct pc_frame *f);

/* report.c: the summary on stderr; returns the exit status given what happened. */
int report_summary(const struct pktcap *pc, int rc_capture_end);

/* main.c */
uint64_t mono_ns(void);

#endif
