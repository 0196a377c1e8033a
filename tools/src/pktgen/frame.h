/*
 * frame: the Ethernet/IPv4/UDP test frames pktgen sends, and how it tells its
 * own frames (intact or damaged) from everything else on the wire.
 *
 * A test frame is a plain UDP datagram (RFC 768) in IPv4 (RFC 791) in
 * Ethernet II, exactly as long as asked (60..1514 bytes, no FCS: QEMU's
 * dgram netdev carries frames without one). Both checksums are valid, so a
 * router or a capture tool sees nothing odd. The UDP payload starts with a
 * tag that says which stream, flow and sequence number the frame is:
 *
 *   0      4      6    7    8         12         16     18
 *   +------+------+----+----+---------+----------+------+
 *   | csum |magic |strm|run | flow    | flow_seq | len  |   core tag, always
 *   +------+------+----+----+---------+----------+------+
 *   18                 26                34
 *   +------------------+-----------------+-- - - -------+
 *   | global_seq       | tx_ns           | filler ...   |   frames >= 76 bytes
 *   +------------------+-----------------+-- - - -------+
 *
 * The core tag is 18 bytes because that is all a 60-byte frame has left
 * after 14 + 20 + 8 bytes of headers. Smaller frames carry the low 16 bits
 * of the global sequence in the IPv4 identification field instead.
 *
 * csum is FNV-1a (32 bit, over little-endian 32-bit words, then the tail
 * bytes) of the payload from offset 4 to the end of the UDP payload. Each
 * step of it (xor a word, multiply by an odd prime) is a bijection, so any
 * damage confined to one word always changes it. All fields are big-endian.
 * run is a per-process random tag: frames of an earlier run that were still
 * queued somewhere count as foreign, not as duplicates.
 */
#ifndef PKTGEN_FRAME_H
#define PKTGEN_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FRAME_MIN_BYTES     60     /* Ethernet minimum, FCS excluded */
#define FRAME_MAX_BYTES     1514   /* 1500-byte MTU + Ethernet header */
#define FRAME_EXT_MIN_BYTES 76     /* from here on the tag carries global_seq and tx_ns */
#define FRAME_MAGIC         0x7067 /* "pg" */

#define ETH_TYPE_IPV4 0x0800
#define ETH_TYPE_ARP  0x0806

struct eth_hdr {
	uint8_t dst[6];
	uint8_t src[6];
	uint16_t type_be;
} __attribute__((packed));
_Static_assert(sizeof(struct eth_hdr) == 14, "Ethernet II header");

/* RFC 791, section 3.1; pktgen never sends options (ihl = 5). */
struct ipv4_hdr {
	uint8_t ver_ihl;
	uint8_t tos;
	uint16_t total_len_be;
	uint16_t id_be;
	uint16_t frag_be;
	uint8_t ttl;
	uint8_t proto;
	uint16_t csum_be;
	uint32_t src_be;
	uint32_t dst_be;
} __attribute__((packed));
_Static_assert(sizeof(struct ipv4_hdr) == 20, "IPv4 header without options");

struct udp_hdr {
	uint16_t sport_be;
	uint16_t dport_be;
	uint16_t len_be;
	uint16_t csum_be;
} __attribute__((packed));
_Static_assert(sizeof(struct udp_hdr) == 8, "UDP header");

/* RFC 826 for Ethernet hardware and IPv4 protocol addresses. */
struct arp_ipv4 {
	uint16_t htype_be;
	uint16_t ptype_be;
	uint8_t hlen;
	uint8_t plen;
	uint16_t op_be;
	uint8_t sha[6];
	uint32_t spa_be;
	uint8_t tha[6];
	uint32_t tpa_be;
} __attribute__((packed));
_Static_assert(sizeof(struct arp_ipv4) == 28, "ARP for IPv4 over Ethernet");

struct pg_tag_wire {
	uint32_t csum_be;
	uint16_t magic_be;
	uint8_t stream;
	uint8_t run;
	uint32_t flow_be;
	uint32_t flow_seq_be;
	uint16_t frame_len_be;
} __attribute__((packed));
_Static_assert(sizeof(struct pg_tag_wire) == 18, "core tag fills a 60-byte frame");

struct pg_tag_ext_wire {
	uint64_t global_seq_be;
	uint64_t tx_ns_be;
} __attribute__((packed));
_Static_assert(sizeof(struct pg_tag_ext_wire) == 16, "tag extension");

#define FRAME_HDRS_BYTES (sizeof(struct eth_hdr) + sizeof(struct ipv4_hdr) + sizeof(struct udp_hdr))
_Static_assert(FRAME_HDRS_BYTES + sizeof(struct pg_tag_wire) == FRAME_MIN_BYTES, "layout");
_Static_assert(FRAME_HDRS_BYTES + sizeof(struct pg_tag_wire) + sizeof(struct pg_tag_ext_wire)
	       == FRAME_EXT_MIN_BYTES, "layout");

/* What a test frame says about itself, in host byte order. */
struct pg_tag {
	uint8_t stream;
	uint8_t run;
	uint32_t flow;
	uint32_t flow_seq;
	uint16_t frame_len;
	bool has_ext;          /* global_seq and tx_ns are valid */
	uint64_t global_seq;
	uint64_t tx_ns;
};

/* The addresses of one frame; IPv4 addresses in host byte order. */
struct frame_addr {
	uint8_t dmac[6];
	uint8_t smac[6];
	uint32_t sip;
	uint32_t dip;
	uint16_t sport;
	uint16_t dport;
	uint8_t ttl;
	uint16_t ip_id;
};

enum frame_verdict {
	FRAME_OURS,            /* a test frame, intact */
	FRAME_FOREIGN,         /* not a test frame (no magic) */
	FRAME_BAD_PAYLOAD,     /* tag checksum does not match the payload */
	FRAME_BAD_LENGTH,      /* datagram, IPv4, UDP and tag lengths disagree */
	FRAME_BAD_IP_CSUM,
	FRAME_BAD_UDP_CSUM,
};

void frame_init(void);

/* Writes a frame_len-byte test frame to buf; returns frame_len. */
size_t frame_build(uint8_t *buf, uint16_t frame_len, const struct frame_addr *addr,
		   const struct pg_tag *tag);

/*
 * Classifies a received frame. For FRAME_OURS the tag is filled in; for the
 * FRAME_BAD_* verdicts it holds what the damaged frame claims (best effort,
 * used to blame a stream).
 */
enum frame_verdict frame_parse(const uint8_t *buf, size_t len, struct pg_tag *tag);
const char *frame_verdict_name(enum frame_verdict verdict);

/* True when buf is an ARP request asking for ip (host byte order). */
bool frame_is_arp_request_for(const uint8_t *buf, size_t len, uint32_t ip);

/* Writes the 60-byte ARP reply to request req from mac/ip; returns its length. */
size_t frame_build_arp_reply(uint8_t *out, const uint8_t *req, const uint8_t mac[6], uint32_t ip);

#endif
