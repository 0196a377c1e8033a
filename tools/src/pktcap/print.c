/*
 * print: without -w, one line per packet on stdout, enough to see that a
 * capture works. For real decoding pipe pcapng into tcpdump or Wireshark:
 *
 *   1700000000.123456789 port0 rx 98/98 seq 0 02:00:00:00:00:01 > 52:54:00:12:34:10
 *       IPv4 10.0.0.2:49152 > 10.0.1.2:7 udp
 *   (one line; "drop(ttl_expired)" in place of "rx" for a drop point)
 */
#include "pktcap.h"

#include <arpa/inet.h>
#include <string.h>

#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_VLAN 0x8100

static void print_mac(FILE *out, const uint8_t *m)
{
	fprintf(out, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

static uint16_t load16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* IPv4 addresses, and ports for TCP and UDP, when the bytes are there. */
static void print_ipv4(FILE *out, const uint8_t *ip, uint32_t len)
{
	char src[INET_ADDRSTRLEN], dst[INET_ADDRSTRLEN];
	uint32_t ihl_bytes;
	uint8_t proto;

	if (len < 20)
		return;
	ihl_bytes = (ip[0] & 0x0fu) * 4;
	proto = ip[9];
	inet_ntop(AF_INET, ip + 12, src, sizeof(src));
	inet_ntop(AF_INET, ip + 16, dst, sizeof(dst));
	if ((proto == 6 || proto == 17) && ihl_bytes >= 20 && len >= ihl_bytes + 4)
		fprintf(out, " %s:%u > %s:%u %s", src, load16(ip + ihl_bytes), dst,
			load16(ip + ihl_bytes + 2), proto == 6 ? "tcp" : "udp");
	else
		fprintf(out, " %s > %s proto %u", src, dst, proto);
}

static void print_point(FILE *out, const struct pc_frame *f)
{
	const char *reason;

	if (f->point == PC_POINT_RX) {
		fputs("rx", out);
	} else if (f->point == PC_POINT_TX) {
		fputs("tx", out);
	} else {
		reason = drop_name(f->drop_reason);
		if (reason)
			fprintf(out, "drop(%s)", reason);
		else
			fprintf(out, "drop(%u)", f->drop_reason);
	}
}

void print_frame(FILE *out, const struct pc_frame *f)
{
	const uint8_t *d = f->data;
	uint32_t off = 12;
	uint16_t type;

	fprintf(out, "%llu.%09llu port%u ", (unsigned long long)(f->ts_ns / 1000000000ull),
		(unsigned long long)(f->ts_ns % 1000000000ull), f->port);
	print_point(out, f);
	fprintf(out, " %u/%u seq %u", f->cap_len, f->orig_len, f->seq);
	if (f->cap_len >= 14) {
		fputc(' ', out);
		print_mac(out, d + 6);
		fputs(" > ", out);
		print_mac(out, d);
		type = load16(d + off);
		while (type == ETHERTYPE_VLAN && f->cap_len >= off + 6) {
			fprintf(out, " vlan %u", load16(d + off + 2) & 0x0fffu);
			off += 4;
			type = load16(d + off);
		}
		if (type == ETHERTYPE_IPV4) {
			fputs(" IPv4", out);
			print_ipv4(out, d + off + 2, f->cap_len - off - 2);
		} else {
			fprintf(out, " type 0x%04x", type);
		}
	}
	fputc('\n', out);
}
