/*
 * frame: building and checking pktgen's test frames (layout in frame.h),
 * and the one ARP reply a simulated host needs to send.
 *
 * The checksums read memory in host order and store their result the same
 * way, which is how the Internet checksum stays byte-order independent
 * (RFC 1071, section 2(B)); the code assumes a little-endian host only for
 * where an odd trailing byte lands.
 */
#include "frame.h"

#include <arpa/inet.h>
#include <endian.h>
#include <string.h>

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "checksums assume a little-endian host");

#define FNV32_OFFSET 2166136261u
#define FNV32_PRIME  16777619u
#define IPPROTO_UDP_NUM 17

/* Filler bytes after the tag: a fixed pattern, covered by the tag checksum. */
static uint8_t filler[FRAME_MAX_BYTES];

void frame_init(void)
{
	for (size_t i = 0; i < sizeof(filler); i++)
		filler[i] = (uint8_t)(0xa5 ^ (i * 7));
}

static uint32_t fnv1a32_words(const uint8_t *p, size_t n)
{
	uint32_t h = FNV32_OFFSET;
	uint32_t w;

	for (; n >= 4; p += 4, n -= 4) {
		memcpy(&w, p, 4);
		h = (h ^ w) * FNV32_PRIME;
	}
	for (; n > 0; p++, n--)
		h = (h ^ *p) * FNV32_PRIME;
	return h;
}

/* One's complement sum of n bytes (RFC 1071), not yet folded. */
static uint64_t csum_partial(const void *data, size_t n, uint64_t sum)
{
	const uint8_t *p = data;
	uint32_t w32;
	uint16_t w16;

	for (; n >= 4; p += 4, n -= 4) {
		memcpy(&w32, p, 4);
		sum += w32;
	}
	if (n >= 2) {
		memcpy(&w16, p, 2);
		sum += w16;
		p += 2;
		n -= 2;
	}
	if (n > 0)
		sum += *p;     /* pad with a zero byte: the low byte on little-endian */
	return sum;
}

static uint16_t csum_fold(uint64_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* UDP checksum over the pseudo header, UDP header and payload (RFC 768). */
static uint16_t udp_csum(const struct ipv4_hdr *ip, const struct udp_hdr *udp, size_t udp_bytes)
{
	uint64_t sum = 0;

	sum = csum_partial(&ip->src_be, 8, sum);
	sum += htons(IPPROTO_UDP_NUM);
	sum += udp->len_be;
	sum = csum_partial(udp, udp_bytes, sum);
	return csum_fold(sum);
}

static void build_tag(uint8_t *payload, size_t payload_bytes, const struct pg_tag *tag)
{
	struct pg_tag_wire w = {
		.magic_be = htons(FRAME_MAGIC),
		.stream = tag->stream,
		.run = tag->run,
		.flow_be = htonl(tag->flow),
		.flow_seq_be = htonl(tag->flow_seq),
		.frame_len_be = htons(tag->frame_len),
	};
	size_t at = sizeof(w);

	if (payload_bytes >= sizeof(w) + sizeof(struct pg_tag_ext_wire)) {
		struct pg_tag_ext_wire ext = {
			.global_seq_be = htobe64(tag->global_seq),
			.tx_ns_be = htobe64(tag->tx_ns),
		};
		memcpy(payload + at, &ext, sizeof(ext));
		at += sizeof(ext);
	}
	memcpy(payload + at, filler, payload_bytes - at);
	memcpy(payload, &w, sizeof(w));
	w.csum_be = htonl(fnv1a32_words(payload + 4, payload_bytes - 4));
	memcpy(payload, &w.csum_be, 4);
}

size_t frame_build(uint8_t *buf, uint16_t frame_len, const struct frame_addr *addr,
		   const struct pg_tag *tag)
{
	struct eth_hdr *eth = (struct eth_hdr *)buf;
	struct ipv4_hdr *ip = (struct ipv4_hdr *)(eth + 1);
	struct udp_hdr *udp = (struct udp_hdr *)(ip + 1);
	size_t udp_bytes = frame_len - sizeof(*eth) - sizeof(*ip);
	uint16_t csum;

	memcpy(eth->dst, addr->dmac, 6);
	memcpy(eth->src, addr->smac, 6);
	eth->type_be = htons(ETH_TYPE_IPV4);
	*ip = (struct ipv4_hdr){
		.ver_ihl = 0x45,
		.total_len_be = htons((uint16_t)(frame_len - sizeof(*eth))),
		.id_be = htons(addr->ip_id),
		.frag_be = htons(0x4000),          /* DF: a test frame is never fragmented */
		.ttl = addr->ttl,
		.proto = IPPROTO_UDP_NUM,
		.src_be = htonl(addr->sip),
		.dst_be = htonl(addr->dip),
	};
	ip->csum_be = csum_fold(csum_partial(ip, sizeof(*ip), 0));
	*udp = (struct udp_hdr){
		.sport_be = htons(addr->sport),
		.dport_be = htons(addr->dport),
		.len_be = htons((uint16_t)udp_bytes),
	};
	build_tag((uint8_t *)(udp + 1), udp_bytes - sizeof(*udp), tag);
	csum = udp_csum(ip, udp, udp_bytes);
	udp->csum_be = csum ? csum : 0xffff;   /* 0 would mean "no checksum" */
	return frame_len;
}

static void read_tag(const uint8_t *payload, size_t payload_bytes, struct pg_tag *tag)
{
	struct pg_tag_wire w;
	struct pg_tag_ext_wire ext;

	memcpy(&w, payload, sizeof(w));
	*tag = (struct pg_tag){
		.stream = w.stream,
		.run = w.run,
		.flow = ntohl(w.flow_be),
		.flow_seq = ntohl(w.flow_seq_be),
		.frame_len = ntohs(w.frame_len_be),
	};
	if (payload_bytes >= sizeof(w) + sizeof(ext)) {
		memcpy(&ext, payload + sizeof(w), sizeof(ext));
		tag->has_ext = true;
		tag->global_seq = be64toh(ext.global_seq_be);
		tag->tx_ns = be64toh(ext.tx_ns_be);
	}
}

/* Returns the UDP header of an IPv4/UDP frame carrying a tag, or NULL. */
static const struct udp_hdr *find_tagged_udp(const uint8_t *buf, size_t len)
{
	const struct eth_hdr *eth = (const struct eth_hdr *)buf;
	const struct ipv4_hdr *ip = (const struct ipv4_hdr *)(eth + 1);
	const struct udp_hdr *udp = (const struct udp_hdr *)(ip + 1);
	uint16_t magic_be;

	if (len < FRAME_MIN_BYTES || eth->type_be != htons(ETH_TYPE_IPV4))
		return NULL;
	if (ip->ver_ihl != 0x45 || ip->proto != IPPROTO_UDP_NUM)
		return NULL;
	memcpy(&magic_be, (const uint8_t *)(udp + 1) + 4, 2);
	return magic_be == htons(FRAME_MAGIC) ? udp : NULL;
}

enum frame_verdict frame_parse(const uint8_t *buf, size_t len, struct pg_tag *tag)
{
	const struct udp_hdr *udp = find_tagged_udp(buf, len);
	const struct ipv4_hdr *ip;
	size_t udp_bytes, payload_bytes;
	uint32_t csum_be;

	if (!udp)
		return FRAME_FOREIGN;
	ip = (const struct ipv4_hdr *)udp - 1;
	/* Bound the payload by what UDP claims, so padding shows up as a length error. */
	udp_bytes = ntohs(udp->len_be);
	if (udp_bytes < sizeof(*udp) + sizeof(struct pg_tag_wire) ||
	    udp_bytes > len - FRAME_HDRS_BYTES + sizeof(*udp))
		udp_bytes = len - FRAME_HDRS_BYTES + sizeof(*udp);
	payload_bytes = udp_bytes - sizeof(*udp);
	read_tag((const uint8_t *)(udp + 1), payload_bytes, tag);
	memcpy(&csum_be, udp + 1, 4);
	if (ntohl(csum_be) != fnv1a32_words((const uint8_t *)(udp + 1) + 4, payload_bytes - 4))
		return FRAME_BAD_PAYLOAD;
	if (tag->frame_len != len || ntohs(ip->total_len_be) != len - sizeof(struct eth_hdr) ||
	    ntohs(udp->len_be) != len - sizeof(struct eth_hdr) - sizeof(*ip))
		return FRAME_BAD_LENGTH;
	if (csum_fold(csum_partial(ip, sizeof(*ip), 0)) != 0)
		return FRAME_BAD_IP_CSUM;
	if (udp->csum_be != 0 && udp_csum(ip, udp, udp_bytes) != 0)
		return FRAME_BAD_UDP_CSUM;
	return FRAME_OURS;
}

const char *frame_verdict_name(enum frame_verdict verdict)
{
	switch (verdict) {
	case FRAME_OURS: return "ok";
	case FRAME_FOREIGN: return "foreign";
	case FRAME_BAD_PAYLOAD: return "payload checksum";
	case FRAME_BAD_LENGTH: return "length";
	case FRAME_BAD_IP_CSUM: return "IPv4 header checksum";
	case FRAME_BAD_UDP_CSUM: return "UDP checksum";
	}
	return "?";
}

bool frame_is_arp_request_for(const uint8_t *buf, size_t len, uint32_t ip)
{
	const struct eth_hdr *eth = (const struct eth_hdr *)buf;
	const struct arp_ipv4 *arp = (const struct arp_ipv4 *)(eth + 1);

	if (len < sizeof(*eth) + sizeof(*arp) || eth->type_be != htons(ETH_TYPE_ARP))
		return false;
	return arp->htype_be == htons(1) && arp->ptype_be == htons(ETH_TYPE_IPV4) &&
	       arp->hlen == 6 && arp->plen == 4 && arp->op_be == htons(1) &&
	       arp->tpa_be == htonl(ip);
}

size_t frame_build_arp_reply(uint8_t *out, const uint8_t *req, const uint8_t mac[6], uint32_t ip)
{
	const struct arp_ipv4 *q = (const struct arp_ipv4 *)(req + sizeof(struct eth_hdr));
	struct eth_hdr *eth = (struct eth_hdr *)out;
	struct arp_ipv4 *a = (struct arp_ipv4 *)(eth + 1);

	memset(out, 0, FRAME_MIN_BYTES);
	memcpy(eth->dst, q->sha, 6);
	memcpy(eth->src, mac, 6);
	eth->type_be = htons(ETH_TYPE_ARP);
	a->htype_be = htons(1);
	a->ptype_be = htons(ETH_TYPE_IPV4);
	a->hlen = 6;
	a->plen = 4;
	a->op_be = htons(2);
	memcpy(a->sha, mac, 6);
	a->spa_be = htonl(ip);
	memcpy(a->tha, q->sha, 6);
	a->tpa_be = q->spa_be;
	return FRAME_MIN_BYTES;
}
