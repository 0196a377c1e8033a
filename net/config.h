/*
 * config: the pktmetal.conf parser.
 *
 * efi_main reads pktmetal.conf from the boot volume into memory; the kernel
 * hands the bytes to config_parse() after boot. The parser is plain C with no
 * platform needs, so the host tests run it as is.
 *
 * The format, one directive per line:
 *
 *   # packet arena and statistics        <- comment line
 *   arena-mb 128                          <- directive, then its values
 *   stats-interval-ms 500   # twice/s     <- trailing comment
 *
 * Tokens are separated by spaces or tabs; '#' starts a comment anywhere;
 * blank lines, CRLF line endings and a last line without a newline are all
 * fine. A NUL byte, another control character or a line longer than
 * CONFIG_LINE_MAX characters is an error. DESIGN.md, "Config directives",
 * lists every directive; the ones below are those implemented so far.
 *
 * Test-only directives (the QEMU tests use them to check fault handling and
 * the clock; a production config never sets them):
 *   selftest-fault page|stack|divide|panic
 *   selftest-wait-ms N
 */
#ifndef PKTMETAL_NET_CONFIG_H
#define PKTMETAL_NET_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest accepted line, not counting its "\n" or "\r\n". */
#define CONFIG_LINE_MAX 255

/* What the selftest-fault directive makes the image do after boot. */
enum selftest_fault {
    SELFTEST_FAULT_NONE,
    SELFTEST_FAULT_PAGE,    /* touch an unmapped page: #PF */
    SELFTEST_FAULT_STACK,   /* overflow the stack into its guard page */
    SELFTEST_FAULT_DIVIDE,  /* divide by zero: #DE */
    SELFTEST_FAULT_PANIC,   /* call panic() */
};

#include "net/acl.h"

#define CONFIG_MAX_PORTS     8
#define CONFIG_MAX_ROUTES    1024
#define CONFIG_MAX_NEIGHBORS 256
#define CONFIG_IDLE_BATCH_MAX     128     /* idle-batch K: frames */
#define CONFIG_IDLE_BATCH_US_MAX  10000   /* idle-batch K US: a bounded wait */

/* What the pipeline does with a received frame (DESIGN.md, Modes). */
enum config_mode {
    CONFIG_MODE_L2FWD,      /* port pairs 0<->1, 2<->3: out the pair, MACs rewritten */
    CONFIG_MODE_REFLECT,    /* back out the input port, MACs swapped */
    CONFIG_MODE_BRIDGE,     /* transparent learning switch */
    CONFIG_MODE_ROUTER,     /* IPv4 router with ARP and ICMP */
};

struct config_port {
    bool has_peer_mac;      /* port N peer-mac MAC */
    uint8_t peer_mac[6];    /* l2fwd: destination MAC of frames leaving port N */
    bool has_ip;            /* port N ip A.B.C.D/LEN */
    uint32_t ip;            /* router: our address on port N, host order */
    uint8_t ip_len;         /* and its prefix length: the connected network */
    uint32_t ip_line;
    bool is_capture;        /* port N role capture: carries captured frames out */
    uint32_t line;          /* first line naming port N (0: none) */
    uint32_t role_line;
};

struct config_route {       /* route PREFIX/LEN via GW | route default via GW */
    uint32_t prefix;        /* host order */
    uint8_t len;
    uint32_t gw;
    uint32_t line;
};

struct config_neighbor {    /* neighbor IP MAC: a static ARP entry */
    uint32_t ip;
    uint8_t mac[6];
    uint32_t line;
};

struct config {
    enum config_mode mode;      /* mode l2fwd|reflect|bridge|router: default l2fwd */
    uint32_t mode_line;
    uint32_t rx_ring;           /* rx-ring N: descriptors per RX ring, power of two
                                   64..4096, default 512 */
    uint32_t tx_ring;           /* tx-ring N: same for TX */
    struct config_port ports[CONFIG_MAX_PORTS];  /* port N ...: 0..7 */
    bool virtio_event_idx;      /* virtio-event-idx on|off: negotiate
                                   VIRTIO_F_RING_EVENT_IDX, default on */
    bool idle_halt;             /* idle-halt on|off: halt when idle, default on */
    uint32_t idle_polls;        /* idle-polls N: empty polls before halting (200) */
    uint32_t idle_min_us;       /* idle-min-us N: first halt (10 us) */
    uint32_t idle_max_us;       /* idle-max-us N: longest halt, doubling up to it (100 us) */
    uint32_t idle_wake_max_us;  /* idle-wake-max-us N: halt when every port can end it
                                   with an RX interrupt (2000 us); 0: timer only */
    uint32_t idle_batch;        /* idle-batch K [US]: after a poll that found 1..K-1
                                   frames, halt until K wait on a port or US pass;
                                   0 (off): poll on */
    uint32_t idle_batch_us;     /* the US of idle-batch: longest such halt */
    uint32_t idle_line;
    uint32_t icmp_rate;         /* icmp-rate N: router ICMP errors per second,
                                   default ROUTER_ICMP_RATE (100) */
    uint32_t icmp_echo_rate;    /* icmp-echo-rate N: router echo replies per
                                   second, default ROUTER_ECHO_RATE (1000);
                                   both 1..ROUTER_ICMP_RATE_MAX */
    uint32_t bridge_age_s;      /* bridge-age-s N: MAC table ageing, default 300 */
    bool bridge_vlan;           /* bridge-vlan on|off: learn per VLAN, default off */
    struct config_route routes[CONFIG_MAX_ROUTES];
    uint32_t nb_routes;
    struct config_neighbor neighbors[CONFIG_MAX_NEIGHBORS];
    uint32_t nb_neighbors;
    struct acl acl;             /* acl ... lines, in order */
    uint32_t arena_mb;          /* arena-mb N: packet arena MiB, default 64;
                                   8..4096 and even (2 MiB pages) */
    uint32_t stats_interval_ms; /* stats-interval-ms N: default 1000;
                                   10..3600000 */
    /* test-only directives: */
    enum selftest_fault selftest_fault; /* selftest-fault page|stack|divide|panic;
                                           default none */
    uint32_t selftest_wait_ms;  /* selftest-wait-ms N (1..600000): wait N ms by
                                   the TSC clock between two serial markers;
                                   default 0 (no wait) */
};

/* Fills cfg with the defaults listed above. */
void config_defaults(struct config *cfg);

/*
 * Parses len bytes of text (need not be NUL-terminated) into cfg. Only the
 * fields of directives present are written, so call config_defaults() first.
 *
 * Returns 0 on success. On the first error returns a negative PM_E* value
 * (-PM_ERANGE for a number out of range, -PM_EEXIST for a directive given
 * twice, -PM_EINVAL for anything else), writes "config:LINE: <what is wrong>"
 * into err (err_size bytes, NUL-terminated when err_size > 0; err may be NULL
 * when err_size is 0) and leaves cfg partly filled.
 */
int config_parse(struct config *cfg, const char *text, size_t len,
                 char *err, size_t err_size);

/*
 * The checks that need the machine: every `port N` line must name one of
 * the nb_nics NICs found (ports 0..nb_nics-1, in PCI order), and the port
 * with `role capture` must be the last. Run before any port starts, so a
 * bad line stops start-up with nothing half-done. Returns 0, or -PM_EINVAL
 * with "config:LINE: ..." in err, as config_parse does.
 */
int config_check_ports(const struct config *cfg, unsigned nb_nics, char *err, size_t err_size);

#endif
